"""Run as ``python -m tests.fault.sign_batch USER STAGE CODE...``: sign (``sign``) or seal
(``seal``) the results as USER with the demo PIN, on the installation ``MOTCUA_*`` names.
The fault tests SIGKILL this process in the middle of the batch."""

from __future__ import annotations

import sys

from api.bootstrap import bootstrap
from api.settings import Settings
from records.accounts import principal_of
from records.results import seal_results, sign_results
from signing.demo_pki import DEMO_PASSPHRASE


def main(argv: list[str]) -> int:
    username, stage, *codes = argv
    services = bootstrap(Settings())
    try:
        with services.records.store.session(readonly=True) as tx:
            user = tx.get_user(username)
        if user is None:
            return 2
        use_case = sign_results if stage == "sign" else seal_results
        items = use_case(services.results, principal_of(user), codes, secret=DEMO_PASSPHRASE)
        return 0 if all(item.ok for item in items) else 1
    finally:
        services.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
