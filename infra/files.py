"""The attachments bucket: one declaration for CloudFormation, local runs and tests.

Encrypted, public access blocked, versioned; multipart uploads left incomplete are aborted
and bytes of uploads never completed (chalicelib/documents/attachments.py INCOMING_PREFIX) expire.
Only the API function may touch it, and only its objects.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.config import Settings
from chalicelib.documents.attachments import INCOMING_PREFIX, STORED_PREFIX

LOGICAL_ID = "FilesBucket"
ENV_VAR = "NAVI_FILES_BUCKET"
FUNCTIONS = ("APIHandler",)  # presigns uploads and downloads, checks and moves uploaded objects
UNFINISHED_DAYS = 1
OLD_VERSION_DAYS = 90


def cloudformation_resources() -> dict[str, Any]:
    """The bucket and its TLS-only policy."""
    bucket = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "AbortIncompleteMultipartUploads",
                        "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": UNFINISHED_DAYS},
                    },
                    {
                        "Id": "ExpireUploadsNeverCompleted",
                        "Status": "Enabled",
                        "Prefix": INCOMING_PREFIX,
                        "ExpirationInDays": UNFINISHED_DAYS,
                        "NoncurrentVersionExpiration": {"NoncurrentDays": UNFINISHED_DAYS},
                    },
                    {
                        "Id": "ExpireReplacedVersions",
                        "Status": "Enabled",
                        "Prefix": STORED_PREFIX,
                        "NoncurrentVersionExpiration": {"NoncurrentDays": OLD_VERSION_DAYS},
                    },
                ]
            },
            # The portal's browsers PUT to and GET from presigned URLs directly.
            "CorsConfiguration": {
                "CorsRules": [
                    {
                        "AllowedMethods": ["GET", "PUT"],
                        "AllowedOrigins": ["*"],
                        "AllowedHeaders": ["Content-Type", "x-amz-checksum-sha256"],
                        "MaxAge": 3600,
                    }
                ]
            },
        },
    }
    policy = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": LOGICAL_ID},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [
                            {"Fn::GetAtt": [LOGICAL_ID, "Arn"]},
                            {"Fn::Sub": f"${{{LOGICAL_ID}.Arn}}/*"},
                        ],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }
    return {LOGICAL_ID: bucket, f"{LOGICAL_ID}Policy": policy}


def role_statements() -> list[dict[str, Any]]:
    """What the API's role may do in S3: its bucket's objects, nothing else."""
    objects = {"Fn::Sub": f"${{{LOGICAL_ID}.Arn}}/*"}
    return [
        {
            "Sid": "FilesObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [objects],
        },
        {
            "Sid": "FilesDropUnchecked",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject"],
            "Resource": [{"Fn::Sub": f"${{{LOGICAL_ID}.Arn}}/{INCOMING_PREFIX}*"}],
        },
        # Without ListBucket a missing object answers 403, indistinguishable from a refusal.
        {
            "Sid": "FilesMissingIs404",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [{"Fn::GetAtt": [LOGICAL_ID, "Arn"]}],
            "Condition": {"StringLike": {"s3:prefix": [f"{INCOMING_PREFIX}*", f"{STORED_PREFIX}*"]}},
        },
    ]


def create_bucket(client: Any, settings: Settings) -> str:
    """Create the stage's bucket through a boto3 S3 client if missing (local runs, tests)."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if settings.files_bucket not in existing:
        client.create_bucket(
            Bucket=settings.files_bucket, CreateBucketConfiguration={"LocationConstraint": settings.region}
        )
        client.put_bucket_versioning(
            Bucket=settings.files_bucket, VersioningConfiguration={"Status": "Enabled"}
        )
    return settings.files_bucket
