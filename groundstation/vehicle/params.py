"""Reading and writing one vehicle parameter (MAVLink parameter protocol, ArduPilot semantics).

Protocol (https://mavlink.io/en/services/parameter.html):

* **read**: PARAM_REQUEST_READ (``param_id``, ``param_index`` -1) -> the vehicle answers with
  PARAM_VALUE for that ``param_id``. ArduPilot answers *nothing* for a name it does not know
  (``GCS_MAVLINK::param_io_timer``); recent firmware may send PARAM_ERROR DOES_NOT_EXIST instead.
  The request is repeated when no answer comes (lossy links), then the name is reported unknown.
* **write**: PARAM_SET -> the vehicle broadcasts PARAM_VALUE with the value it now holds, whether
  the write succeeded or not; the ground station re-sends PARAM_SET when no PARAM_VALUE comes.
  ArduPilot ignores a PARAM_SET for an unknown name or a NaN/inf value, and answers a read-only
  parameter with STATUSTEXT "Param write denied (NAME)" and PARAM_VALUE holding the old value
  (``GCS_MAVLINK::handle_param_set``, libraries/GCS_MAVLink/GCS_Param.cpp).
* **encoding**: ArduPilot *casts* every value to the float ``param_value``
  (MAV_PROTOCOL_CAPABILITY_PARAM_ENCODE_C_CAST), integers included; ``param_type`` names the
  storage type (MAV_PARAM_TYPE_INT8/INT16/INT32 or REAL32). (PX4's byte-wise encoding, where an
  INT32's bytes are copied into the float, is not what ArduPilot does and is not used here.)
  Integer parameters are stored as ``AP_Param::set_float`` does: the float plus 0.01 towards its
  sign, truncated and clamped to the type's range. A write is confirmed when the PARAM_VALUE holds
  exactly what that storage makes of the requested value.

Parameter names differ between firmware versions (ArduCopter 4.7 renamed ``SYSID_THISMAV`` to
``MAV_SYSID``): callers must handle :class:`UnknownParameterError` rather than assume a name.
"""

from __future__ import annotations

import math
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

from groundstation.link import MAV, Link
from groundstation.vehicle.errors import CommandError
from missions.errors import InputError

PARAM_ID_LEN = 16
"""Maximum length of a parameter name (``param_id`` is char[16], not NUL-terminated when full)."""

_INT_RANGES: dict[int, tuple[int, int]] = {
    MAV.MAV_PARAM_TYPE_UINT8: (0, 2**8 - 1),
    MAV.MAV_PARAM_TYPE_INT8: (-(2**7), 2**7 - 1),
    MAV.MAV_PARAM_TYPE_UINT16: (0, 2**16 - 1),
    MAV.MAV_PARAM_TYPE_INT16: (-(2**15), 2**15 - 1),
    MAV.MAV_PARAM_TYPE_UINT32: (0, 2**32 - 1),
    MAV.MAV_PARAM_TYPE_INT32: (-(2**31), 2**31 - 1),
}
"""Value range of each integer MAV_PARAM_TYPE (ArduPilot uses INT8, INT16 and INT32)."""

_FLOAT32_MAX = 3.4028234663852886e38


class ParameterError(CommandError):
    """A parameter could not be read or written; the message names the parameter and why."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class UnknownParameterError(ParameterError):
    """The vehicle has no parameter of that name (no PARAM_VALUE, or PARAM_ERROR DOES_NOT_EXIST)."""


@dataclass(frozen=True)
class ParamValue:
    """One parameter as the vehicle reported it in PARAM_VALUE.

    Attributes:
        name: ``param_id``.
        value: The value (integer-typed parameters hold a whole number).
        param_type: MAV_PARAM_TYPE of the stored value (ArduPilot: INT8, INT16, INT32, REAL32).
        index: ``param_index`` in the vehicle's table, or None when the vehicle sent -1/65535
            (ArduPilot does so when it broadcasts a changed value).
        count: ``param_count``: how many parameters the vehicle has.
    """

    name: str
    value: float
    param_type: int
    index: int | None
    count: int

    @property
    def type_name(self) -> str:
        """``"INT8"``, ``"REAL32"``...: MAV_PARAM_TYPE without its prefix."""
        return param_type_name(self.param_type)

    @property
    def is_integer(self) -> bool:
        """True for integer-typed parameters."""
        return self.param_type in _INT_RANGES


def param_type_name(param_type: int) -> str:
    """MAV_PARAM_TYPE in words (``"INT8"``), or the number for an unknown type."""
    entry = MAV.enums["MAV_PARAM_TYPE"].get(int(param_type))
    return entry.name.removeprefix("MAV_PARAM_TYPE_") if entry else f"type {int(param_type)}"


def check_param_name(name: str) -> str:
    """A parameter name as sent in ``param_id``: stripped and upper-case (ArduPilot's names are).

    Raises:
        InputError: Empty, longer than 16 characters or not printable ASCII.
    """
    key = str(name).strip().upper()
    if not key or len(key) > PARAM_ID_LEN or not key.isascii() or not key.isprintable():
        raise InputError(
            f"invalid parameter name {name!r}: a MAVLink param_id has 1 to {PARAM_ID_LEN} "
            "printable ASCII characters"
        )
    return key


def to_float32(value: float) -> float:
    """``value`` rounded to the float32 that ``param_value`` carries."""
    return struct.unpack("<f", struct.pack("<f", float(value)))[0]


def stored_value(name: str, value: float, param_type: int) -> float:
    """The value the vehicle will hold after writing ``value`` to a parameter of ``param_type``.

    Integer types keep whole numbers within their range (ArduPilot's ``AP_Param::set_float``
    would truncate a fraction and clamp an out-of-range value: such a write is refused here
    rather than silently changed); REAL32 is rounded to float32.

    Raises:
        InputError: NaN/inf, a fraction or out-of-range value for an integer type, or a value
            beyond float32.
    """
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"parameter {name}: {value!r} is not a finite number")
    if param_type in _INT_RANGES:
        lo, hi = _INT_RANGES[param_type]
        kind = param_type_name(param_type)
        if abs(v - round(v)) > 1e-6:
            raise InputError(f"parameter {name} is {kind}: {v:g} is not a whole number")
        if not lo <= round(v) <= hi:
            raise InputError(f"parameter {name} is {kind} ({lo}..{hi}): {v:g} is out of range")
        return float(round(v))
    if abs(v) > _FLOAT32_MAX:
        raise InputError(f"parameter {name}: {v:g} does not fit a 32-bit float")
    return to_float32(v)


def _same_value(reported: float, expected: float, param_type: int) -> bool:
    if param_type in _INT_RANGES:
        return round(reported) == round(expected)
    return math.isclose(reported, expected, rel_tol=1e-6, abs_tol=1e-9)


def _msg_param_id(msg: Any) -> str:
    raw = msg.param_id
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    return str(raw).split("\x00", 1)[0]


class ParameterClient:
    """Read and write single parameters of the vehicle behind ``link`` (thread-safe).

    Each request waits ``timeout_s`` for its answer and is repeated ``retries`` times. The
    last value and type seen for each name are remembered (:meth:`cached`).

    Args:
        link: A connected :class:`Link`.
    """

    def __init__(self, link: Link) -> None:
        self.link = link
        self._lock = threading.Lock()
        self._known: dict[str, ParamValue] = {}

    def cached(self, name: str) -> ParamValue | None:
        """The last PARAM_VALUE this client saw for ``name``, or None."""
        return self._known.get(check_param_name(name))

    def _from_vehicle(self, msg: Any) -> bool:
        comp = self.link.target_component
        return not comp or msg.get_srcComponent() == comp

    def _for_us(self, msg: Any) -> bool:
        return getattr(msg, "target_system", 0) in (0, self.link.source_system)

    def _remember(self, msg: Any) -> ParamValue:
        ptype = int(msg.param_type)
        value = float(msg.param_value)
        if ptype in _INT_RANGES and math.isfinite(value):
            value = float(round(value))
        index = int(msg.param_index)
        pv = ParamValue(
            name=_msg_param_id(msg),
            value=value,
            param_type=ptype,
            index=None if index in (-1, 65535) else index,
            count=int(msg.param_count),
        )
        self._known[pv.name] = pv
        return pv

    def _param_error(self, msg: Any, name: str, doing: str) -> ParameterError:
        entry = MAV.enums["MAV_PARAM_ERROR"].get(int(msg.error))
        what = entry.name if entry else f"MAV_PARAM_ERROR {int(msg.error)}"
        if int(msg.error) == MAV.MAV_PARAM_ERROR_DOES_NOT_EXIST:
            return UnknownParameterError(
                f"the vehicle has no parameter {name} (PARAM_ERROR {what})", name
            )
        return ParameterError(f"{doing} parameter {name}: refused with PARAM_ERROR {what}", name)

    def _no_answer(self, name: str, attempts: int, waited_s: float) -> ParameterError:
        if not self.link.link_ok:
            return ParameterError(
                f"reading parameter {name}: no PARAM_VALUE from {self.link.url} after "
                f"{attempts} PARAM_REQUEST_READ over {waited_s:.1f} s (the link is lost)",
                name,
            )
        return UnknownParameterError(
            f"the vehicle has no parameter {name}: no PARAM_VALUE after {attempts} "
            f"PARAM_REQUEST_READ over {waited_s:.1f} s (ArduPilot does not answer for a name "
            "it does not know; names differ between firmware versions)",
            name,
        )

    def read(self, name: str, *, timeout_s: float = 1.0, retries: int = 3) -> ParamValue:
        """Ask the vehicle for one parameter (PARAM_REQUEST_READ -> PARAM_VALUE).

        Args:
            name: Parameter name (``"FENCE_ENABLE"``); case-insensitive.
            timeout_s: Wait this long for the answer to each request, seconds.
            retries: Repeat the request this many times when no answer comes.

        Returns:
            The :class:`ParamValue` the vehicle reported.

        Raises:
            InputError: Invalid name.
            UnknownParameterError: The vehicle does not know ``name`` (no answer to any request
                while the link is up, or PARAM_ERROR DOES_NOT_EXIST).
            ParameterError: No answer because the link is lost, or another PARAM_ERROR.
        """
        key = check_param_name(name)
        started = time.monotonic()
        with self._lock, self.link.queue(("PARAM_VALUE", "PARAM_ERROR")) as q:
            for _attempt in range(retries + 1):
                self.link.send(
                    self.link.mav.param_request_read_encode(
                        self.link.target_system, self.link.target_component, key.encode(), -1
                    )
                )
                deadline = time.monotonic() + timeout_s
                while (remaining := deadline - time.monotonic()) > 0:
                    msg = q.get(remaining)
                    if msg is None:
                        break
                    if _msg_param_id(msg) != key or not self._from_vehicle(msg):
                        continue
                    if msg.get_type() == "PARAM_ERROR":
                        if self._for_us(msg):
                            raise self._param_error(msg, key, "reading")
                        continue
                    return self._remember(msg)
        raise self._no_answer(key, retries + 1, time.monotonic() - started)

    def get(self, name: str, *, timeout_s: float = 1.0, retries: int = 3) -> float:
        """The value of one parameter (see :meth:`read`; same errors)."""
        return self.read(name, timeout_s=timeout_s, retries=retries).value

    def set(
        self, name: str, value: float, *, timeout_s: float = 1.0, retries: int = 3
    ) -> ParamValue:
        """Write one parameter (PARAM_SET) and wait for the PARAM_VALUE that confirms it.

        The parameter is read first when its type is not known yet (ArduPilot silently ignores
        a PARAM_SET for an unknown name, so the read is what tells an unknown name apart). The
        value is checked against the type (a whole number within range for integer types),
        sent as a C-cast float, and the write counts as done when the vehicle reports exactly
        the stored value. PARAM_SET is re-sent when no PARAM_VALUE comes within ``timeout_s``.

        Args:
            name: Parameter name; case-insensitive.
            value: New value.
            timeout_s: Wait this long for the PARAM_VALUE after each PARAM_SET, seconds.
            retries: Re-send PARAM_SET this many times.

        Returns:
            The :class:`ParamValue` the vehicle reported after the write.

        Raises:
            InputError: Invalid name, or a value the parameter's type cannot hold.
            UnknownParameterError: The vehicle does not know ``name``.
            ParameterError: The vehicle kept another value (e.g. "Param write denied" for a
                read-only parameter; the message quotes the vehicle's STATUSTEXT), refused with
                PARAM_ERROR, or did not answer.
        """
        key = check_param_name(name)
        if not math.isfinite(float(value)):
            raise InputError(f"parameter {key}: {value!r} is not a finite number")
        current = self._known.get(key) or self.read(key, timeout_s=timeout_s, retries=retries)
        expected = stored_value(key, value, current.param_type)
        started = time.monotonic()
        last: ParamValue | None = None
        texts: list[str] = []
        with self._lock, self.link.queue(("PARAM_VALUE", "PARAM_ERROR", "STATUSTEXT")) as q:
            for _attempt in range(retries + 1):
                self.link.send(
                    self.link.mav.param_set_encode(
                        self.link.target_system,
                        self.link.target_component,
                        key.encode(),
                        expected,
                        current.param_type,
                    )
                )
                deadline = time.monotonic() + timeout_s
                while (remaining := deadline - time.monotonic()) > 0:
                    msg = q.get(remaining)
                    if msg is None:
                        break
                    mtype = msg.get_type()
                    if mtype == "STATUSTEXT":
                        text = _msg_text(msg)
                        if key in text.upper() and text not in texts:
                            texts.append(text)
                        if last is not None and texts:
                            break  # the refused write's reason came after its PARAM_VALUE
                        continue
                    if _msg_param_id(msg) != key or not self._from_vehicle(msg):
                        continue
                    if mtype == "PARAM_ERROR":
                        if self._for_us(msg):
                            raise self._param_error(msg, key, f"setting {value:g} to")
                        continue
                    pv = self._remember(msg)
                    if _same_value(pv.value, expected, pv.param_type):
                        return pv
                    last = pv
                    if texts:
                        break  # the vehicle said why: no point in repeating the write
                if last is not None and texts:
                    break
        if last is not None:
            why = f"; the vehicle says: {'; '.join(texts)}" if texts else ""
            raise ParameterError(
                f"setting parameter {key} to {expected:g} was not accepted: the vehicle keeps "
                f"{last.value:g}{why}",
                key,
            )
        lost = "" if self.link.link_ok else " (the link is lost)"
        raise ParameterError(
            f"setting parameter {key} to {expected:g}: no PARAM_VALUE from {self.link.url} after "
            f"{retries + 1} PARAM_SET over {time.monotonic() - started:.1f} s{lost}",
            key,
        )


def _msg_text(msg: Any) -> str:
    text = msg.text if isinstance(msg.text, str) else bytes(msg.text).decode("utf-8", "replace")
    return text.rstrip("\x00")
