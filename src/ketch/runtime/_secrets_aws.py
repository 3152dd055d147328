"""The ``aws-secrets-manager`` provider of ``@secrets`` (boto3, imported only when used).

The region is the one of an ARN id, else ``options["region"]``, else boto3's own (from
``AWS_DEFAULT_REGION`` or the profile). boto3 also reads the endpoint from
``AWS_ENDPOINT_URL_SECRETS_MANAGER`` / ``AWS_ENDPOINT_URL`` (a local test server).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._secrets import SecretsError, binary_value, json_object

_ARN_REGION = re.compile(r"arn:aws:secretsmanager:([^:]+):")


def fetch_aws(secret_id: str, options: Mapping[str, Any], role: str | None) -> dict[str, str]:
    """The variables of one secret of AWS Secrets Manager."""
    response = _client(secret_id, options, role).get_secret_value(SecretId=secret_id)
    name = response.get("Name")
    if not name:
        raise SecretsError(f"AWS Secrets Manager answered for '{secret_id}' without its name.")
    result: dict[str, str] = {}
    if "SecretString" in response:
        text = response["SecretString"]
        if options.get("json", True):
            try:
                values = json_object(text)
            except SecretsError as exc:
                raise SecretsError(f"Secret '{secret_id}': {exc.detail}", hint=exc.hint) from None
            for key, value in values.items():
                _add(result, secret_id, key, str(value))
        else:
            _add(result, secret_id, options.get("env_var_name") or name, text)
    elif "SecretBinary" in response:
        _add(
            result,
            secret_id,
            options.get("env_var_name") or name,
            binary_value(response["SecretBinary"]),
        )
    else:
        raise SecretsError(f"AWS Secrets Manager gave no value for the secret '{secret_id}'.")
    return result


def _add(result: dict[str, str], secret_id: str, key: str, value: str) -> None:
    """Add one variable, its name made a valid variable name ('-', '.', '/' -> '_')."""
    name = key.replace("-", "_").replace(".", "_").replace("/", "_")
    if name in result:
        raise SecretsError(
            f"Secret '{secret_id}' has two keys that both become the variable {name}.",
            hint="Rename one of the keys in the secret.",
        )
    result[name] = value


def _client(secret_id: str, options: Mapping[str, Any], role: str | None) -> Any:
    try:
        import boto3
        import botocore.exceptions  # type: ignore[import-untyped]
    except ImportError:
        raise SecretsError(
            "The aws-secrets-manager provider needs boto3, which is not installed.",
            hint="pip install 'ketch[s3]' (or boto3) where the tasks run.",
        ) from None
    match = _ARN_REGION.match(secret_id)
    region = match.group(1) if match else options.get("region")
    session = boto3.session.Session()
    try:
        if role:
            creds = session.client("sts", region_name=region).assume_role(
                RoleArn=role, RoleSessionName="ketch-secrets"
            )["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        return session.client("secretsmanager", region_name=region)
    except botocore.exceptions.NoRegionError:
        raise SecretsError(
            f"No AWS region is known for the secret '{secret_id}'.",
            hint="Set AWS_DEFAULT_REGION, pass options={'region': ...}, or use the secret's ARN.",
        ) from None
