"""Reading a large request body a value at a time: its bytes a chunk at a time (Body), a JSON text
value by value with the standard library's decoder (JsonText), the items of an array one by one
(array_items). A million-item upload is never in memory at once."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from shared.platform import jsonin

CHUNK_SIZE = 1_048_576  # bytes read from the request at a time
_BLANK = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class Body:
    """The request body a chunk at a time, its first chunk (`head`) read ahead to tell the format."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.head = stream.read(CHUNK_SIZE)

    def read(self) -> bytes:
        chunk, self.head = self.head or self.stream.read(CHUNK_SIZE), b""
        return chunk

    def lines(self) -> Iterator[bytes]:
        rest = b""
        while chunk := self.read():
            *lines, rest = (rest + chunk).split(b"\n")
            yield from lines
        yield rest


class JsonText:
    """A JSON text read a value at a time by the standard library's decoder (exact numbers; NaN and lone
    surrogates kept for jsonin.check to name), so a million-item array is never in memory at once. A value
    longer than the buffer doubles it: values spanning many chunks are decoded in linear time."""

    def __init__(self, body: Body):
        self.body = body
        self.utf8 = codecs.getincrementaldecoder("utf-8-sig")("replace")  # exports saved on Windows start with a BOM
        self.text, self.pos, self.ended = "", 0, False

    def _read(self, at_least: int = 1) -> bool:
        """Buffer at least `at_least` more bytes of the body (or the rest); False when there are none."""
        if self.ended:
            return False
        parts, count = [self.text[self.pos :]], 0
        while count < at_least and not self.ended:
            chunk = self.body.read()
            self.ended = not chunk
            parts.append(self.utf8.decode(chunk, final=self.ended))
            count += len(chunk)
        self.text, self.pos = "".join(parts), 0
        return True

    def peek(self) -> str:
        """The next character that is not blank, not consumed; "" at the end."""
        while True:
            self.pos = _BLANK.match(self.text, self.pos).end()
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._read():
                return ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def value(self, field: str) -> Any:
        """The next value; JsonInputError naming `field` when it is not JSON."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # A value cut by the end of the buffer fails near that end, or as an unterminated string.
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self.text) - 16
                if cut and self._read(at_least=len(self.text) - self.pos):
                    continue
                raise jsonin.JsonInputError(field, f"Malformed JSON: {exc.msg}") from None
            except ValueError:  # an integer of more digits than Python converts
                raise jsonin.JsonInputError(field, "Malformed JSON: a number is too long") from None
            except RecursionError:
                raise jsonin.JsonInputError(field, f"nested deeper than {jsonin.MAX_DEPTH} levels") from None
            if end == len(self.text) and self._read():  # a number may go on in the next chunk
                continue
            self.pos = end
            return value


def array_items(text: JsonText, key: str) -> Iterator[tuple[str, int, Any]]:
    if text.take("]"):
        return
    index = 0
    while True:
        yield key, index, text.value(f"{key}[{index}]")
        if text.take("]"):
            return
        if not text.take(","):
            raise jsonin.JsonInputError(f"{key}[{index}]", "Malformed JSON: expecting ',' or ']' after it")
        index += 1
