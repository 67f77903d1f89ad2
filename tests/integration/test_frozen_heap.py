"""The store process's heap: frozen while it serves, thawed and collected whole once it is idle."""

from __future__ import annotations

from local_stack import supervisor


def test_the_heap_is_frozen_while_serving_and_collected_whole_once_idle(monkeypatch):
    calls: list[str] = []
    for name in ("freeze", "unfreeze", "collect"):
        monkeypatch.setattr(supervisor.gc, name, lambda name=name: calls.append(name))
    now = [1000.0]
    monkeypatch.setattr(supervisor.time, "monotonic", lambda: now[0])
    heap = supervisor.FrozenHeap()

    heap.touched()
    assert heap.tend() is False and calls == ["freeze"]  # serving: frozen, never walked
    now[0] += heap.IDLE_SECONDS + 1
    calls.clear()
    heap.tend()
    assert calls == ["unfreeze", "collect", "freeze"]  # idle: cycles that died frozen are collected
    calls.clear()
    heap.tend()
    assert calls == ["freeze"]  # once per idle spell
    heap.touched()
    heap.tend()
    now[0] += heap.IDLE_SECONDS + 1
    calls.clear()
    heap.tend()
    assert calls == ["unfreeze", "collect", "freeze"]
