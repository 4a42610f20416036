"""Corpus files in S3 (`s3://BUCKET/KEY`): RemoteFile's transport over boto3, the optional `s3` extra.

boto3 is imported only when an s3:// source is met. Credentials come from the environment only
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or AWS_PROFILE's files): the instance and
container metadata services are never asked, and with no credentials requests go unsigned (public buckets).
botocore signs for the endpoint named (`--s3-endpoint-url`, else AWS_ENDPOINT_URL, else AWS) and sends nothing
elsewhere; every request it sends (region redirects included) passes the address policy first, in a
`before-send` hook, and the endpoint is checked when the source is expanded, before any request.

A dropped stream resumes with a ranged GetObject and `IfMatch=ETag`: S3 answers 412 when the object changed,
and the source fails ("the file changed") rather than splicing two versions.
"""

from __future__ import annotations

import os
import re
import threading
from urllib.parse import urlsplit

from crawler.corpus.remote import (
    USER_AGENT,
    RemoteInfo,
    RemoteOptions,
    RemoteReadError,
    RetryLater,
    check_unchanged,
    check_url,
    polite_wait,
    with_retries,
)
from pipelines.lists import CheckedTarget

INSTALL_HINT = "pip install -e '.[s3]'"
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
# the credential providers that ask a network service (instance and container metadata): not the environment
_NETWORK_PROVIDERS = ("container-role", "iam-role")

_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def split_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key) of `s3://BUCKET/KEY`; the key may be empty or end in / (a prefix)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise RemoteReadError(f"{url}: expected s3://BUCKET/KEY")
    return parts.netloc, parts.path.lstrip("/")


def _botocore():
    try:
        import boto3
        import botocore.config
        import botocore.exceptions
        import botocore.session
    except ImportError:
        raise RemoteReadError(f"s3:// sources need boto3, an optional extra: {INSTALL_HINT}") from None
    return boto3, botocore


def _environment_key() -> tuple:
    return tuple(sorted((name, value) for name, value in os.environ.items() if name.startswith("AWS_")))


def _client(options: RemoteOptions):
    """One S3 client per process, options and AWS_* environment (a forked reader builds its own)."""
    _botocore()  # the clear error without boto3, cached client or not
    key = (os.getpid(), options, _environment_key())
    with _clients_lock:
        client = _clients.get(key)
    if client is None:
        client = _new_client(options)
        with _clients_lock:
            _clients[key] = client
    return client


def _new_client(options: RemoteOptions):
    boto3, botocore = _botocore()
    session = botocore.session.get_session()
    providers = session.get_component("credential_provider")
    for name in _NETWORK_PROVIDERS:
        providers.remove(name)
    signed = session.get_credentials() is not None
    config = botocore.config.Config(
        user_agent_extra=USER_AGENT,
        connect_timeout=options.timeout,
        read_timeout=options.timeout,
        retries={"mode": "standard", "max_attempts": options.retries + 1},
        signature_version=None if signed else botocore.UNSIGNED,
    )
    client = boto3.Session(botocore_session=session).client(
        "s3", endpoint_url=options.s3_endpoint_url or None, config=config
    )

    def guard(request, **_kwargs) -> None:
        # every request, before it leaves: the host it goes to passes the address policy, politely
        target = check_url(request.url, options)
        polite_wait(target.host, options)

    client.meta.events.register("before-send.s3", guard)
    return client


def _described(error, url: str) -> str:
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code") or type(error).__name__
    message = response.get("Error", {}).get("Message") or str(error)
    return f"{url}: S3 {code}: {message}"


def check_s3(url: str, options: RemoteOptions) -> CheckedTarget:
    """The checked S3 endpoint of `url`: refused (RemoteReadError) before any request is sent to it."""
    split_s3_url(url)
    return check_url(_client(options).meta.endpoint_url, options)


def probe_s3(url: str, options: RemoteOptions) -> RemoteInfo:
    """The ETag and length of `url` (HeadObject), before anything is read."""
    _boto3, botocore = _botocore()
    bucket, key = split_s3_url(url)
    try:
        head = _client(options).head_object(Bucket=bucket, Key=key)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise RemoteReadError(_described(error, url)) from None
    return RemoteInfo(url, head.get("ETag"), int(head["ContentLength"]))


def list_s3_prefix(url: str, options: RemoteOptions) -> list[str]:
    """The s3:// URLs of the objects under the prefix `url` (ending in /), sorted by key."""
    _boto3, botocore = _botocore()
    bucket, prefix = split_s3_url(url)
    urls = []
    try:
        for page in _client(options).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            urls += [f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", ()) if item["Key"][-1:] != "/"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise RemoteReadError(_described(error, url)) from None
    return sorted(urls)


class _S3Body:
    """A GetObject body; a broken stream shows as OSError, which RemoteFile resumes."""

    def __init__(self, body, errors: tuple[type[Exception], ...]) -> None:
        self.body, self.errors = body, errors

    def read(self, size: int) -> bytes:
        try:
            return self.body.read(size)
        except self.errors as error:
            raise OSError(f"{type(error).__name__}: {error}") from None

    def close(self) -> None:
        self.body.close()


class S3Transport:
    """RemoteFile's bytes from S3: GetObject from byte `start`, resumed with Range and IfMatch."""

    def __init__(self, url: str, options: RemoteOptions) -> None:
        self.url, self.options = url, options
        self.bucket, self.key = split_s3_url(url)

    def open(self, start: int, etag: str | None, length: int | None) -> tuple[_S3Body, str | None, int]:
        _boto3, botocore = _botocore()
        request = {"Bucket": self.bucket, "Key": self.key}
        if start > 0:
            request |= {"Range": f"bytes={start}-", "IfMatch": etag}

        def attempt():
            try:
                return _client(self.options).get_object(**request)
            except botocore.exceptions.ClientError as error:
                if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412:
                    raise RemoteReadError(
                        f"{self.url}: the file changed (its ETag is no longer {etag}); at byte {start:,}"
                    ) from None
                raise RemoteReadError(_described(error, self.url)) from None
            except botocore.exceptions.BotoCoreError as error:  # botocore's own retries are spent
                raise RetryLater(f"{type(error).__name__}: {error}") from None

        answer = with_retries(self.url, self.options, attempt)
        found_etag = answer.get("ETag")
        found_length = int(answer["ContentLength"])
        if start > 0:
            ranged = _CONTENT_RANGE.match(answer.get("ContentRange") or "")
            if ranged is None or int(ranged.group(1)) != start:
                answer["Body"].close()
                raise RemoteReadError(
                    f"{self.url}: asked for bytes {start:,}-, got Content-Range {answer.get('ContentRange')!r}"
                )
            found_length = int(ranged.group(3))
        try:
            check_unchanged(self.url, start, (etag, length), (found_etag, found_length))
        except RemoteReadError:
            answer["Body"].close()
            raise
        errors = (botocore.exceptions.BotoCoreError, OSError)
        return _S3Body(answer["Body"], errors), found_etag, found_length
