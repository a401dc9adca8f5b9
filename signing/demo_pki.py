"""A demo PKI on disk: root CA, signing CA, TSA, one certificate per person and per agency.

For the demo install and the tests; never for production signatures. The directory holds
PEM certificates, the CA and TSA keys unencrypted (mode 0600), PKCS#12 files for people and
agencies protected by the passphrase given at creation, a DER CRL per CA and a
``manifest.json`` (holders, revocations, CRL numbers). Everything is dated from an injected
``now``, so tests can create the PKI "in 2025" and validate "in 2040".

Its ``validation_setup`` works offline: the CRLs are given directly, fetching is off.
With ``base_url`` the certificates also name HTTP CRL and OCSP locations (for a loopback
server in tests); without it they name ``http://pki.motcua.invalid`` (RFC 6761: never
resolves), so a soft-fail setup with fetching on still answers quickly.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from signing._issuer import (
    Profile,
    Revocation,
    build_certificate,
    build_crl,
    build_ocsp,
    name,
    new_key,
)
from signing.credentials import Credential, load_pkcs12
from signing.timestamps import EmbeddedTsa
from signing.trust import RevocationFailure, ValidationSetup

__all__ = ["DemoHolder", "DemoPki", "DemoValidity"]

ROOT_NAME = "Motcua Demo Root CA"
CA_NAME = "Motcua Demo Signing CA"
TSA_NAME = "Motcua Demo TSA"
DEMO_PASSPHRASE = "motcua-demo"  # noqa: S105 - the demo PKI's documented passphrase
_PEM = serialization.Encoding.PEM
_DER = serialization.Encoding.DER


@dataclass(frozen=True, kw_only=True)
class DemoValidity:
    """Lifetimes, close to a public CA's: long roots, short signer certificates."""

    root: timedelta = timedelta(days=365 * 30)
    ca: timedelta = timedelta(days=365 * 20)
    tsa: timedelta = timedelta(days=365 * 10)  # archives re-timestamp before it ends
    signer: timedelta = timedelta(days=365 * 2)
    crl: timedelta = timedelta(days=7)
    ocsp: timedelta = timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class DemoHolder:
    """A person (``kind`` personal, ``key`` = username) or an agency (organisation, code)."""

    key: str
    kind: Profile
    common_name: str
    organisation: str
    title: str | None
    certificate: x509.Certificate
    pkcs12: Path


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if secret:
        os.chmod(path, 0o600)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        _PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    # The demo PKI generated these keys itself; re-checking their RSA parameters on every load
    # costs ~45 ms a key (seven keys each time a demo service starts) and proves nothing.
    key = serialization.load_pem_private_key(path.read_bytes(), None,
                                             unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{path.name}: the demo PKI uses RSA keys")
    return key


# Pristine copies of the PKIs this process created, by their creation arguments.
_CREATED: dict[tuple[object, ...], Path] = {}


@atexit.register
def _forget_created() -> None:
    for path in _CREATED.values():
        shutil.rmtree(path, ignore_errors=True)


class DemoPki:
    """Create with ``DemoPki.create``, reopen with ``DemoPki.load``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        self._manifest = manifest
        self.base_url: str = manifest["base_url"]
        self.validity = DemoValidity(
            **{k: timedelta(seconds=v) for k, v in manifest["validity"].items()}
        )
        self.root = x509.load_pem_x509_certificate((directory / "root.pem").read_bytes())
        self.ca = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        self.tsa = x509.load_pem_x509_certificate((directory / "tsa.pem").read_bytes())
        self._root_key = _load_key(directory / "root.key")
        self._ca_key = _load_key(directory / "ca.key")
        self.tsa_key = _load_key(directory / "tsa.key")
        self.holders: dict[str, DemoHolder] = {}
        for entry in manifest["holders"]:
            self.holders[entry["key"]] = DemoHolder(
                key=entry["key"],
                kind=Profile(entry["kind"]),
                common_name=entry["common_name"],
                organisation=entry["organisation"],
                title=entry["title"],
                certificate=x509.load_pem_x509_certificate(
                    (directory / entry["certificate"]).read_bytes()
                ),
                pkcs12=directory / entry["pkcs12"],
            )

    # -- creation ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        directory: Path,
        *,
        agencies: Sequence[tuple[str, str]],
        people: Sequence[tuple[str, str, str, str]],
        now: datetime,
        passphrase: str = DEMO_PASSPHRASE,
        base_url: str | None = None,
        validity: DemoValidity | None = None,
        reuse: bool = False,
    ) -> DemoPki:
        """Write a fresh PKI. ``people`` are (username, full name, title, agency code).

        With ``reuse``, a PKI this process already created with the same arguments is copied
        instead of generating a dozen RSA keys again (the demo data does this: the test suite
        seeds hundreds of demo services); two such PKIs then share their keys. The demo PKI
        is refused in production."""
        validity = validity or DemoValidity()
        memo_key = (tuple(agencies), tuple(people), now, passphrase, base_url, validity)
        pristine = _CREATED.get(memo_key) if reuse else None
        if pristine is not None and pristine.is_dir():
            shutil.copytree(pristine, directory, dirs_exist_ok=True)
            return cls(directory)
        base = (base_url or "http://pki.motcua.invalid").rstrip("/")
        start = now - timedelta(hours=1)
        root_key, ca_key, tsa_key = new_key(), new_key(), new_key()
        root = build_certificate(
            subject=name(ROOT_NAME, organisation="Motcua Demo"), public_key=root_key.public_key(),
            issuer=None, issuer_key=root_key, profile=Profile.ROOT,
            not_before=start, not_after=start + validity.root,
        )
        ca = build_certificate(
            subject=name(CA_NAME, organisation="Motcua Demo"), public_key=ca_key.public_key(),
            issuer=root, issuer_key=root_key, profile=Profile.CA, not_before=start,
            not_after=start + validity.ca, crl_url=f"{base}/crl/root.crl",
        )
        tsa = build_certificate(
            subject=name(TSA_NAME, organisation="Motcua Demo"), public_key=tsa_key.public_key(),
            issuer=root, issuer_key=root_key, profile=Profile.TSA, not_before=start,
            not_after=start + validity.tsa, crl_url=f"{base}/crl/root.crl",
        )
        directory.mkdir(parents=True, exist_ok=True)
        made = (("root", root, root_key), ("ca", ca, ca_key), ("tsa", tsa, tsa_key))
        for stem, cert, key in made:
            _write(directory / f"{stem}.pem", cert.public_bytes(_PEM))
            _write(directory / f"{stem}.key", _key_pem(key), secret=True)
        _write(directory / f"tsa-{tsa.serial_number}.pem", tsa.public_bytes(_PEM))
        names = dict(agencies)
        holders: list[dict[str, object]] = []
        secret = passphrase.encode("utf-8")
        wanted: list[tuple[str, Profile, str, str, str | None]] = [
            (code, Profile.ORGANISATION, agency, agency, None) for code, agency in agencies
        ]
        wanted += [(user, Profile.PERSONAL, full, names.get(org, org), title)
                   for user, full, title, org in people]
        for key_name, profile, common_name, organisation, title in wanted:
            key = new_key()
            cert = build_certificate(
                subject=name(common_name, organisation=organisation, title=title),
                public_key=key.public_key(), issuer=ca, issuer_key=ca_key, profile=profile,
                not_before=start, not_after=start + validity.signer,
                crl_url=f"{base}/crl/ca.crl", ocsp_url=f"{base}/ocsp/ca" if base_url else None,
            )
            folder = "people" if profile is Profile.PERSONAL else "agencies"
            p12 = pkcs12.serialize_key_and_certificates(
                key_name.encode("utf-8"), key, cert, [ca, root],
                serialization.BestAvailableEncryption(secret),
            )
            _write(directory / folder / f"{key_name}.p12", p12, secret=True)
            _write(directory / folder / f"{key_name}.pem", cert.public_bytes(_PEM))
            holders.append({
                "key": key_name, "kind": str(profile), "common_name": common_name,
                "organisation": organisation, "title": title,
                "certificate": f"{folder}/{key_name}.pem", "pkcs12": f"{folder}/{key_name}.p12",
            })
        manifest = {
            "base_url": base, "holders": holders, "revoked": [], "crl_numbers": {},
            "root_issued": [str(ca.serial_number), str(tsa.serial_number)],
            "validity": {k: v.total_seconds() for k, v in vars(validity).items()},
        }
        text = json.dumps(manifest, ensure_ascii=False, indent=1)
        _write(directory / "manifest.json", text.encode("utf-8"))
        pki = cls(directory)
        pki.refresh_crls(now)
        if reuse:
            copy = Path(tempfile.mkdtemp(prefix="motcua-demo-pki-"))
            shutil.copytree(directory, copy, dirs_exist_ok=True)
            _CREATED[memo_key] = copy
        return pki

    @classmethod
    def load(cls, directory: Path) -> DemoPki:
        return cls(directory)

    # -- use -----------------------------------------------------------------------------

    def credential(self, key: str, passphrase: str = DEMO_PASSPHRASE) -> Credential:
        return load_pkcs12(self.holders[key].pkcs12, passphrase)

    def crls(self) -> tuple[bytes, bytes]:
        """The current DER CRLs of the root and of the signing CA."""
        return (self.directory / "root.crl").read_bytes(), (self.directory / "ca.crl").read_bytes()

    def validation_setup(
        self,
        *,
        moment: datetime | None = None,
        revocation: RevocationFailure = RevocationFailure.HARD,
        allow_fetching: bool = False,
        ocsp_for: Sequence[x509.Certificate] = (),
    ) -> ValidationSetup:
        """Offline: the current CRLs, and OCSP answers as at ``moment`` for ``ocsp_for``.

        Give OCSP for a signer when extending an archive: pyHanko 0.38's past validation
        of an expired signer uses an embedded OCSP answer but not a CRL (see
        ``signing.archive``)."""
        at = moment or datetime.now(UTC)
        return ValidationSetup(
            trust_anchors=(self.root,), intermediates=(self.ca,),
            crls=() if allow_fetching else self.crls(),
            ocsp_responses=tuple(self.ocsp_response(c.serial_number, at=at) for c in ocsp_for),
            allow_fetching=allow_fetching, revocation=revocation, moment=moment,
        )

    def tsa_config(self, clock: Callable[[], datetime] | None = None) -> EmbeddedTsa:
        return EmbeddedTsa(certificate=self.tsa, key=self.tsa_key, clock=clock)

    # -- revocation ------------------------------------------------------------------------

    def _revocations(self) -> list[Revocation]:
        return [
            Revocation(serial=int(entry["serial"]), at=datetime.fromisoformat(entry["at"]),
                       reason=x509.ReasonFlags(entry["reason"]))
            for entry in self._manifest["revoked"]
        ]

    def _save_manifest(self) -> None:
        text = json.dumps(self._manifest, ensure_ascii=False, indent=1)
        _write(self.directory / "manifest.json", text.encode("utf-8"))

    def refresh_crls(self, at: datetime) -> None:
        """Issue the CRLs again, speaking for ``at`` (thisUpdate = ``at``)."""
        revoked = self._revocations()
        by_root = {int(serial) for serial in self._manifest["root_issued"]}
        numbers = self._manifest["crl_numbers"]
        for stem, issuer, key, entries in (
            ("root", self.root, self._root_key, [r for r in revoked if r.serial in by_root]),
            ("ca", self.ca, self._ca_key, [r for r in revoked if r.serial not in by_root]),
        ):
            if at > issuer.not_valid_after_utc:
                continue  # an expired CA issues no more CRLs; its last one stays
            numbers[stem] = numbers.get(stem, 0) + 1
            crl = build_crl(issuer=issuer, issuer_key=key, revoked=entries, at=at,
                            next_update=self.validity.crl, number=numbers[stem])
            _write(self.directory / f"{stem}.crl", crl.public_bytes(_DER))
        self._save_manifest()

    def revoke(
        self, serial: int, *, at: datetime,
        reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise,
    ) -> None:
        """Record the revocation and re-issue the CRLs, fresh at ``at``."""
        self._manifest["revoked"].append(
            {"serial": str(serial), "at": at.isoformat(), "reason": reason.value}
        )
        self.refresh_crls(at)

    def renew_tsa(self, at: datetime) -> x509.Certificate:
        """A new TSA key and certificate from ``at``, as a TSA does before its certificate
        ends; archives re-timestamped with it keep the older timestamps provable. Its status
        is also served by OCSP (the root answers), so a verifier needs no CRL that postdates
        the older TSA certificate's expiry."""
        key = new_key()
        cert = build_certificate(
            subject=name(TSA_NAME, organisation="Motcua Demo"), public_key=key.public_key(),
            issuer=self.root, issuer_key=self._root_key, profile=Profile.TSA, not_before=at,
            not_after=at + self.validity.tsa, crl_url=f"{self.base_url}/crl/root.crl",
            ocsp_url=f"{self.base_url}/ocsp/root",
        )
        _write(self.directory / f"tsa-{cert.serial_number}.pem", cert.public_bytes(_PEM))
        _write(self.directory / "tsa.pem", cert.public_bytes(_PEM))
        _write(self.directory / "tsa.key", _key_pem(key), secret=True)
        self._manifest["root_issued"].append(str(cert.serial_number))
        self._save_manifest()
        self.tsa, self.tsa_key = cert, key
        return cert

    def ocsp_response(self, serial: int, *, at: datetime) -> bytes:
        """The issuing CA's OCSP answer for a holder's or a TSA's certificate, as at ``at``."""
        tsa_file = self.directory / f"tsa-{serial}.pem"
        if tsa_file.is_file():
            cert = x509.load_pem_x509_certificate(tsa_file.read_bytes())
            issuer, issuer_key = self.root, self._root_key
        else:
            cert = next(h.certificate for h in self.holders.values()
                        if h.certificate.serial_number == serial)
            issuer, issuer_key = self.ca, self._ca_key
        revocation = next((r for r in self._revocations() if r.serial == serial), None)
        response = build_ocsp(cert=cert, issuer=issuer, issuer_key=issuer_key,
                              revocation=revocation, at=at, next_update=self.validity.ocsp)
        return response.public_bytes(_DER)

    def issue(
        self,
        public_key: CertificateIssuerPublicKeyTypes,
        *,
        common_name: str,
        organisation: str,
        title: str | None = None,
        profile: Profile = Profile.PERSONAL,
        not_before: datetime,
    ) -> x509.Certificate:
        """Certify a key made elsewhere (on a token): the PKCS#11 path in tests."""
        return build_certificate(
            subject=name(common_name, organisation=organisation, title=title),
            public_key=public_key, issuer=self.ca, issuer_key=self._ca_key, profile=profile,
            not_before=not_before, not_after=not_before + self.validity.signer,
            crl_url=f"{self.base_url}/crl/ca.crl",
        )
