"""Lambda code signing, the template's option: which package key a deploy may give the functions.

With `CodeSigningProfileVersionArn` empty (the default) the functions run the
package `siesa deploy` just uploaded. With a signing profile version ARN the
template attaches a code-signing configuration that makes Lambda refuse any
package that profile did not sign, and the deploy does not sign: the
operator signs the uploaded package with AWS Signer and names the signed
object with `--parameter LambdaCodeKey=KEY` (docs/deploy.md, "Lambda code
signing"). Without that key the deploy stops with `UnsignedPackage` after
uploading the unsigned package (so it can be signed) and before the stack
is touched; with it, the key must name an object in the artefacts bucket.
"""

from __future__ import annotations

from collections.abc import Mapping

from ops.deploy.artefacts import OwnedBucket, Upload
from ops.deploy.errors import UnsignedPackage
from ops.errors import DeploymentError

SIGNING_PROFILE_PARAMETER = "CodeSigningProfileVersionArn"
CODE_KEY_PARAMETER = "LambdaCodeKey"


def package_key(artefacts: OwnedBucket, uploaded: Upload, given: str | None) -> str:
    """The key the functions' `Code` points at: the one the operator names, else the upload's."""
    if not given:
        return uploaded.key
    if artefacts.checksum(given) is None:
        raise DeploymentError(
            f"--parameter {CODE_KEY_PARAMETER}={given}: no such object in the artefacts bucket "
            f"{artefacts.name}"
        )
    return given


def check_signed(parameters: Mapping[str, str], uploaded: Upload, given: str | None) -> None:
    """UnsignedPackage when code signing is on and the functions would get the unsigned upload."""
    profile = parameters.get(SIGNING_PROFILE_PARAMETER, "")
    if not profile or given:
        return
    raise UnsignedPackage(
        f"Lambda code signing is on ({SIGNING_PROFILE_PARAMETER}={profile}) and would refuse "
        f"the unsigned package s3://{uploaded.bucket}/{uploaded.key}: sign it with that profile "
        "(aws signer start-signing-job), then deploy again with "
        f"--parameter {CODE_KEY_PARAMETER}=<the signed object's key>; the stack was not touched"
    )
