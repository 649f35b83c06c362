"""No SigV4 signature on the calls moto answers in-process.

A deployed function signs every AWS call; here the handlers' calls to AWS's own URLs
never leave the process (moto answers them, and checks no signature), and signing them
was a tenth of the local stack's CPU under load. While installed, a request to an
`amazonaws.com` URL goes out unsigned; any other (moto's HTTP endpoint, the gateway's
@connections) is signed as before, so the region and account moto's server reads from
the signature stay right for tools that use it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

AWS_DOMAIN = ".amazonaws.com"


def answered_in_process(url: str) -> bool:
    return (urlsplit(url).hostname or "").endswith(AWS_DOMAIN)


class UnsignedInProcessCalls:
    def __init__(self) -> None:
        self._original: Any = None

    def install(self) -> None:
        from botocore.signers import RequestSigner  # noqa: PLC0415

        if self._original is not None:
            return
        original = self._original = RequestSigner.handler

        def handler(signer: Any, operation_name: Any = None, request: Any = None, **kw: Any) -> Any:
            if request is not None and answered_in_process(request.url):
                return None
            return original(signer, operation_name, request, **kw)

        setattr(RequestSigner, "handler", handler)  # noqa: B010 - typed otherwise

    def uninstall(self) -> None:
        from botocore.signers import RequestSigner  # noqa: PLC0415

        if self._original is not None:
            setattr(RequestSigner, "handler", self._original)  # noqa: B010
            self._original = None
