"""The local stack (`make run`, `python -m local_stack`): the whole system in one process.

stack: moto, the tables and the API served together (`start_stack`); poller: the stream's
event source mappings (batch size and retries from infra/, as deployed); scheduler: the
EventBridge crons on the app clock; events: the Lambda event shapes; gateway: API Gateway's
own answers as problems; moto_store: a safe, flat embedded store; request_scope: one request
per thread; admission: writes paced by the trigger.
"""
