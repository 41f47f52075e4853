"""ICCIDs and LPA activation codes (GSMA SGP.22 §4.1), as providers.md section D describes them."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from urllib.parse import quote

from esim_tui.domain.errors import InvalidActivationCode, InvalidIccid

# ---------------------------------------------------------------- ICCID

_ICCID_SHAPE = re.compile(r"^89\d{16,20}$")


def luhn_ok(digits: str) -> bool:
    """True when the last digit of ``digits`` is a valid Luhn check digit."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body + digit`` pass the Luhn check."""
    for d in "0123456789":
        if luhn_ok(body + d):
            return d
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class IccidCheck:
    iccid: str
    warnings: tuple[str, ...]


def check_iccid(value: str) -> IccidCheck:
    """Validate an ICCID from a provider.

    Non-digits or an implausible length are an error (the value is not an ICCID at all). A bad Luhn
    digit or an unusual prefix is only a warning: vendors' own documentation uses ICCIDs that fail it.
    """
    iccid = value.strip().replace(" ", "")
    if not iccid.isdigit() or not 18 <= len(iccid) <= 22:
        raise InvalidIccid(value)
    warnings: list[str] = []
    if not _ICCID_SHAPE.match(iccid):
        warnings.append("does not start with 89 (telecom)")
    if not luhn_ok(iccid):
        warnings.append("check digit does not match (Luhn)")
    return IccidCheck(iccid, tuple(warnings))


def mint_iccid(rng: random.Random, issuer: str = "8944") -> str:
    """A Luhn-valid 19-digit ICCID, as the sandbox hands out."""
    body = issuer + "".join(rng.choice("0123456789") for _ in range(18 - len(issuer)))
    return body + luhn_check_digit(body)


def iccid_tail(iccid: str | None, digits: int = 4) -> str:
    """The last digits of an ICCID, how agents and customers read it out."""
    return iccid[-digits:] if iccid else ""


# ---------------------------------------------------------------- activation code

MAX_ACTIVATION_CODE_LENGTH = 255
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_MATCHING_ID = re.compile(r"^[0-9A-Za-z-]*$")
_OID = re.compile(r"^(?:\d+(?:\.\d+)*)?$")


def smdp_host(address: str) -> str:
    """An SM-DP+ address as the LPA string wants it: no scheme, no path, no trailing dot."""
    host = address.strip()
    host = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", host)
    host = host.split("/", 1)[0].rstrip(".")
    return host


@dataclass(frozen=True, slots=True)
class ActivationCode:
    """An LPA activation code: what the customer's phone needs to download the eSIM."""

    smdp_address: str
    matching_id: str
    smdp_oid: str = ""
    confirmation_code_required: bool = False

    @classmethod
    def from_parts(cls, smdp_address: str, matching_id: str) -> ActivationCode:
        code = cls(smdp_host(smdp_address), matching_id.strip())
        code._validate()
        return code

    @classmethod
    def parse(cls, text: str) -> ActivationCode:
        """Parse ``LPA:1$<SM-DP+>$<matching id>[$<OID>[$<confirmation flag>...]]`` (the ``LPA:`` is optional)."""
        raw = text.strip()
        if len(raw) > MAX_ACTIVATION_CODE_LENGTH:
            raise InvalidActivationCode(raw, "longer than 255 characters")
        body = raw[4:] if raw[:4].upper() == "LPA:" else raw
        fields = body.split("$")
        if len(fields) < 3:
            raise InvalidActivationCode(raw, "needs format, SM-DP+ address and matching ID separated by $")
        if fields[0] != "1":
            raise InvalidActivationCode(raw, f"unsupported activation code format {fields[0]!r}")
        oid = fields[3] if len(fields) > 3 else ""
        flag = fields[4] if len(fields) > 4 else ""
        if flag not in ("", "0", "1"):
            raise InvalidActivationCode(raw, "confirmation code flag must be 1 or empty")
        code = cls(fields[1], fields[2], oid, flag == "1")
        code._validate(raw)
        return code

    def _validate(self, raw: str | None = None) -> None:
        shown = raw if raw is not None else self.lpa
        if not _HOST.match(self.smdp_address):
            raise InvalidActivationCode(shown, "SM-DP+ address is not a host name")
        if not _MATCHING_ID.match(self.matching_id):
            raise InvalidActivationCode(shown, "matching ID may hold only letters, digits and '-'")
        if not _OID.match(self.smdp_oid):
            raise InvalidActivationCode(shown, "SM-DP+ OID is not a dotted number")
        if len(self.lpa) > MAX_ACTIVATION_CODE_LENGTH:
            raise InvalidActivationCode(shown, "longer than 255 characters")

    @property
    def lpa(self) -> str:
        """The string a QR code carries: ``LPA:1$host$matching-id`` (optional fields only when set)."""
        fields = ["1", self.smdp_address, self.matching_id]
        if self.smdp_oid or self.confirmation_code_required:
            fields.append(self.smdp_oid)
        if self.confirmation_code_required:
            fields.append("1")
        return "LPA:" + "$".join(fields)

    def __str__(self) -> str:
        return self.lpa

    @property
    def apple_install_url(self) -> str:
        """One-tap install on iOS 17.4 and later (opened in the system browser)."""
        return "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=" + quote(self.lpa, safe=":$")

    @property
    def android_install_url(self) -> str:
        """One-tap install on Android (de-facto industry link; Android 10+ also scans the QR natively)."""
        return "https://esimsetup.android.com/esim_qrcode_provisioning?carddata=" + quote(self.lpa, safe=":$")
