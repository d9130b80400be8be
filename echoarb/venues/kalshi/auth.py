"""Kalshi request signing: RSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) over ``ts + METHOD + path``.

The private key is loaded once and checked up front so a misconfigured key stops the
connector with a clear message instead of a stream of HTTP 401s. Never log the key.
"""

from __future__ import annotations

import base64
import os
import stat
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

WS_PATH = "/trade-api/ws/v2"
SALT_LENGTH = 32


class KalshiKeyError(RuntimeError):
    """The configured key cannot be used; the message says why (never the key itself)."""


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=SALT_LENGTH)


def load_private_key(path: Path | str | None) -> rsa.RSAPrivateKey:
    """Load an unencrypted PEM RSA private key that only its owner can read."""
    if path is None:
        raise KalshiKeyError("KALSHI_PRIVATE_KEY_PATH is not set (create a key pair with `echoarb keys`)")
    path = Path(path)
    if not path.is_file():
        raise KalshiKeyError(f"Kalshi private key not found: {path}")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KalshiKeyError(
            f"Kalshi private key {path} is accessible by group/others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KalshiKeyError(f"Kalshi private key {path} is not readable: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KalshiKeyError(f"Kalshi private key {path} is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KalshiKeyError(f"Kalshi private key {path} is not an RSA key")
    return key


def sign(key: rsa.RSAPrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), _pss(), hashes.SHA256())).decode()


def verify(public_key: rsa.RSAPublicKey, text: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), text.encode(), _pss(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def auth_headers(
    key: rsa.RSAPrivateKey, key_id: str, method: str = "GET", path: str = WS_PATH, ts_ms: int | None = None
) -> dict[str, str]:
    """The three ``KALSHI-ACCESS-*`` headers for one request (path without query string)."""
    ts = str(int(time.time() * 1000) if ts_ms is None else ts_ms)
    path = path.split("?", 1)[0]
    return {
        "KALSHI-ACCESS-KEY": key_id,
        "KALSHI-ACCESS-TIMESTAMP": ts,
        "KALSHI-ACCESS-SIGNATURE": sign(key, ts + method.upper() + path),
    }


def generate_keypair(directory: Path | str, name: str = "kalshi") -> tuple[Path, Path]:
    """Write ``<name>.pem`` (mode 600, created so) and ``<name>.pub.pem`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    private, public = directory / f"{name}.pem", directory / f"{name}.pub.pem"
    if private.exists():
        raise KalshiKeyError(f"{private} already exists; refusing to overwrite a key")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fp:
        fp.write(pem)
    os.chmod(private, 0o600)  # umask cannot widen it, but be explicit
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def load_public_key(path: Path | str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, rsa.RSAPublicKey):
        raise KalshiKeyError(f"{path} is not an RSA public key")
    return key
