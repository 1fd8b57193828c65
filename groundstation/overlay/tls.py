"""HTTPS for the officers' page: browsers give a page the phone's location only over HTTPS
(or on localhost), so ``serve`` and the patrol page can run TLS.

Either a certificate the site already has (``overlay.tls_cert`` + ``overlay.tls_key``, PEM), or a
self-signed pair made here with the ``cryptography`` package (``overlay.tls_cert: self-signed``):
kept in a folder and reused while it is valid and names the same hosts, so officers accept it on
their phones once.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path

from missions.errors import ConfigError

SELF_SIGNED = "self-signed"
"""Value of ``overlay.tls_cert`` asking for a generated pair."""


def self_signed(folder: str | Path, hosts: list[str], *, days: int = 365) -> tuple[Path, Path]:
    """A self-signed certificate for ``hosts`` (plus localhost, 127.0.0.1 and this machine).

    Args:
        folder: Where ``overlay-cert.pem`` and ``overlay-key.pem`` (mode 0600) are kept.
        hosts: Names or IP addresses officers use to reach the page.
        days: Validity of a new certificate.

    Returns:
        ``(cert_path, key_path)``; an existing valid pair naming every host is reused.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = Path(folder)
    cert_path, key_path = folder / "overlay-cert.pem", folder / "overlay-key.pem"
    names = {"localhost", "127.0.0.1", socket.gethostname(), *hosts} - {"0.0.0.0", "::", ""}
    now = dt.datetime.now(dt.timezone.utc)
    if cert_path.is_file() and key_path.is_file():
        try:
            old = x509.load_pem_x509_certificate(cert_path.read_bytes())
            san = old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            have = {str(v) for v in san.get_values_for_type(x509.DNSName)}
            have |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
            if names <= have and old.not_valid_after_utc > now + dt.timedelta(days=7):
                return cert_path, key_path
        except (ValueError, x509.ExtensionNotFound):
            pass
    alt = []
    for n in sorted(names):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            alt.append(x509.DNSName(n))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dronepatrol officers' page")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def resolve_tls(
    cert: str | Path | None, key: str | Path | None, *, folder: str | Path, host: str
) -> tuple[Path, Path] | None:
    """The PEM pair to serve with, from ``overlay.tls_cert``/``tls_key``; None for plain HTTP.

    Args:
        cert: A certificate file, :data:`SELF_SIGNED`, or None.
        key: Its private key file (not with :data:`SELF_SIGNED`).
        folder: Where a self-signed pair is kept.
        host: The bind address (named in a self-signed certificate).

    Raises:
        ConfigError: Only one of cert and key, or a file that does not exist.
    """
    if cert is None and key is None:
        return None
    if str(cert) == SELF_SIGNED:
        return self_signed(folder, [host])
    if cert is None or key is None:
        raise ConfigError(
            "overlay.tls_cert and overlay.tls_key go together (or tls_cert: self-signed)"
        )
    for name, p in (("tls_cert", cert), ("tls_key", key)):
        if not Path(p).is_file():
            raise ConfigError(f"overlay.{name}: {p} does not exist")
    return Path(cert), Path(key)
