"""Answers as plain data: numbers, arrays, shapes and type names, written as JSON, never pickled.

A hidden check runs the student's answer in the sandboxed kernel and brings its results out to
the grader. What crosses is text the grader parses with ``json`` and turns into fresh builtin
and NumPy values, so nothing the answer built (an object with a strange ``__eq__``, a subclass
of ``ndarray``) reaches the grader's comparison. The visible check cell sends its answer through
the same round trip, so that both judge exactly the same things.

Encoding, by exact type (a subclass is not trusted to behave like its base):

* ``None``, ``bool`` and ``str`` (cut to ``MAX_STRING`` characters) as themselves;
* builtin and NumPy integers and floats as ``{"int" | "float": value, "type": name}``, so that
  ``np.float32(1.0)`` comes back as an ``np.float32``;
* real NumPy arrays (dtype bool, int, uint or float) as ``{"array": [...], "dtype", "shape"}``;
* tuples and lists as ``{"tuple" | "list": [...]}``, dicts with string keys as
  ``{"dict": [[key, value], ...]}`` (at most ``MAX_DEPTH`` deep). The one exception to exact
  types: a dict subclass (``defaultdict``, ``Counter``, ``OrderedDict``, an honest answer) is
  sent as the plain dict of its items, read with ``dict``'s own method whatever it overrides;
* anything else as ``{"opaque": type name}``, decoded to an ``Opaque`` that only says what it was.

Floats keep every bit: JSON writes them with ``repr`` (NaN and infinities as ``NaN`` and
``Infinity``, which Python's ``json`` reads back).
"""

from __future__ import annotations

import base64
import json
import math
import zlib

import numpy as np

MAX_DEPTH = 6
MAX_STRING = 2000
MAX_TEXT = 16 * 1024 * 1024
"""Largest encoded text ``loads`` accepts, in characters (a response is printed by a probe cell,
whose output the notebook output limit bounds: 8 MiB by default)."""

_INTEGERS = {
    "int": int,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
}
_FLOATS = {"float": float, "float16": np.float16, "float32": np.float32, "float64": np.float64}
_DTYPES = {"bool", *(name for name in _INTEGERS if name != "int")}
_DTYPES |= {name for name in _FLOATS if name != "float"}


class PlainDataError(ValueError):
    """Text that is not a valid encoding; the message says what is wrong."""


class Opaque:
    """Stands for a value that is not plain data (a list of arrays, a model, a generator...).

    ``type_name`` is the qualified name of the original's type, for messages such as
    "expected a NumPy array, got an object of type list".
    """

    def __init__(self, type_name: str):
        self.type_name = str(type_name)[:200]

    def __repr__(self) -> str:
        return f"<an object of type {self.type_name}>"


def type_name(value) -> str:
    """The name of ``value``'s type, looking through an ``Opaque``."""
    return value.type_name if isinstance(value, Opaque) else type(value).__qualname__


def encode(value, depth: int = 0):
    """``value`` as a JSON-ready structure (see the module docstring)."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value[:MAX_STRING] if kind is str else value
    if kind is np.bool_:
        return bool(value)
    for name, exact in _INTEGERS.items():
        if kind is exact:
            return {"int": int(value), "type": name}
    for name, exact in _FLOATS.items():
        if kind is exact:
            return {"float": float(value), "type": name}
    if kind is np.ndarray:
        if value.dtype.kind not in "biuf" or value.dtype.name not in _DTYPES:
            return {"opaque": f"ndarray of dtype {value.dtype}"}
        return {"array": value.ravel().tolist(), "dtype": value.dtype.name, "shape": value.shape}
    if isinstance(value, dict) and kind is not dict:
        value, kind = dict(dict.items(value)), dict
    if kind in (tuple, list, dict) and depth >= MAX_DEPTH:
        return {"opaque": f"{kind.__name__} nested too deeply"}
    if kind in (tuple, list):
        return {kind.__name__: [encode(item, depth + 1) for item in value]}
    if kind is dict and all(type(key) is str for key in value):
        return {"dict": [[key[:MAX_STRING], encode(v, depth + 1)] for key, v in value.items()]}
    return {"opaque": kind.__qualname__}


def decode(data, depth: int = 0):
    """The value ``encode`` described, built from scratch. Raises PlainDataError."""
    if data is None or type(data) is bool:
        return data
    if type(data) is str:
        # JSON can carry lone surrogates, which no UTF-8 file (the gradebook) can store
        return data[:MAX_STRING].encode("utf-8", "backslashreplace").decode("utf-8")
    if type(data) is not dict or len(data) > 3 or depth > MAX_DEPTH + 1:
        raise PlainDataError(f"unexpected {type(data).__name__} in an encoded value")
    if "int" in data:
        maker = _INTEGERS.get(data.get("type"))
        if maker is None or type(data["int"]) is not int:
            raise PlainDataError("a malformed integer")
        try:
            return maker(data["int"])
        except OverflowError:
            raise PlainDataError("an integer out of its type's range") from None
    if "float" in data:
        maker = _FLOATS.get(data.get("type"))
        if maker is None or type(data["float"]) not in (float, int):
            raise PlainDataError("a malformed float")
        return maker(data["float"])
    if "array" in data:
        return _decode_array(data)
    for name, maker in (("tuple", tuple), ("list", list)):
        if name in data:
            if type(data[name]) is not list:
                raise PlainDataError(f"a malformed {name}")
            return maker(decode(item, depth + 1) for item in data[name])
    if "dict" in data:
        items = data["dict"]
        if type(items) is not list or not all(
            type(item) is list and len(item) == 2 and type(item[0]) is str for item in items
        ):
            raise PlainDataError("a malformed dict")
        return {decode(key, depth + 1): decode(item, depth + 1) for key, item in items}
    if "opaque" in data:
        return Opaque(str(data["opaque"]))
    raise PlainDataError(f"unknown encoded value with keys {sorted(data)[:3]}")


def _decode_array(data) -> np.ndarray:
    dtype, shape, flat = data.get("dtype"), data.get("shape"), data["array"]
    if dtype not in _DTYPES or type(shape) is not list or type(flat) is not list:
        raise PlainDataError("a malformed array")
    if len(shape) > 32 or any(type(n) is not int or n < 0 for n in shape):
        raise PlainDataError(f"an array with an invalid shape {shape!r}")
    if math.prod(shape) != len(flat):
        raise PlainDataError(f"an array of shape {tuple(shape)} with {len(flat)} values")
    allowed = (bool,) if dtype == "bool" else (int,) if dtype[0] in "iu" else (int, float)
    if not all(type(x) in allowed for x in flat):
        raise PlainDataError(f"an array of dtype {dtype} holding other values")
    try:
        return np.array(flat, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError):
        raise PlainDataError(f"values out of the range of dtype {dtype}") from None


def dumps(value) -> str:
    """``value`` encoded as one line of JSON."""
    return json.dumps(encode(value), separators=(",", ":"))


def loads(text: str):
    """The value in ``text`` (from ``dumps``). Raises PlainDataError for anything else, including
    text longer than ``MAX_TEXT`` or nested too deeply."""
    if type(text) is not str or len(text) > MAX_TEXT:
        raise PlainDataError("not text, or too long")
    try:
        return decode(json.loads(text))
    except (ValueError, RecursionError, OverflowError) as exc:
        if isinstance(exc, PlainDataError):
            raise
        raise PlainDataError(f"not valid JSON: {str(exc)[:200]}") from None


def snapshot(value):
    """A copy of an array that the answer may still change in place (a layer's gradient that a
    later backward pass adds to), anything else as it is: what a response holds at this moment."""
    return value.copy() if type(value) is np.ndarray else value


def roundtrip(value):
    """``value`` as the grader would see it after ``dumps`` and ``loads``."""
    return loads(dumps(value))


def pack(value) -> str:
    """``value`` as compressed, base64-encoded JSON: one string to put into a code cell."""
    return base64.b64encode(zlib.compress(dumps(value).encode("utf-8"), 9)).decode("ascii")


def unpack(text: str):
    """The value ``pack`` wrote."""
    try:
        raw = zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True))
    except (ValueError, zlib.error) as exc:
        raise PlainDataError(f"not a packed value: {exc}") from None
    return loads(raw.decode("utf-8"))
