import hashlib
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.artifacts import MAX_PATH_LENGTH, HashingReader, validate_artifact_path
from shipyard.errors import InvalidArgumentError


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("model.pkl", "model.pkl"),
        ("plots/loss.png", "plots/loss.png"),
        ("a\\b\\c.txt", "a/b/c.txt"),
        ("..hidden/x..y", "..hidden/x..y"),  # dots inside names are fine
        (".config/file", ".config/file"),
        ("ünïcode/файл.txt", "ünïcode/файл.txt"),
        ("x" * MAX_PATH_LENGTH, "x" * MAX_PATH_LENGTH),
    ],
)
def test_valid_paths_are_normalized(path: str, expected: str) -> None:
    assert validate_artifact_path(path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "non-empty"),
        ("/etc/passwd", "relative path, not an absolute"),
        ("\\\\server\\share", "relative path, not an absolute"),
        ("C:\\x", "relative path, not an absolute"),
        ("c:x", "relative path, not an absolute"),
        ("../x", "without '..' parts"),
        ("a/../../x", "without '..' parts"),
        ("a\\..\\x", "without '..' parts"),
        ("./a", "without '.' parts"),
        ("a/./b", "without '.' parts"),
        ("a//b", "without empty parts"),
        ("a/", "without empty parts"),
        ("a\x00b", "control characters"),
        ("a\nb", "control characters"),
        ("a\x7fb", "control characters"),
        ("x" * (MAX_PATH_LENGTH + 1), "at most 1024 characters"),
    ],
)
def test_invalid_paths_raise_naming_value_and_expectation(path: str, expected: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        validate_artifact_path(path)
    message = str(info.value)
    assert expected in message
    assert f"Got {path!r}" in message
    assert "hint:" in message


def test_the_documented_message_for_parent_parts() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        validate_artifact_path("../x")
    assert info.value.message == (
        "Artifact path '../x' must be a relative path inside the run without '..' parts. "
        "Got '../x'."
    )


def test_non_strings_are_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="must be a str"):
        validate_artifact_path(b"bytes")  # type: ignore[arg-type]


def test_hashing_reader_passes_bytes_through_and_counts() -> None:
    reader = HashingReader(io.BytesIO(b"hello world"))
    assert reader.read(5) == b"hello"
    assert reader.read() == b" world"
    assert reader.read(10) == b""
    assert reader.size == 11
    assert reader.sha256 == hashlib.sha256(b"hello world").hexdigest()


def test_hashing_reader_works_under_a_buffered_reader() -> None:
    reader = HashingReader(io.BytesIO(b"x" * 100_000))
    assert io.BufferedReader(reader).read() == b"x" * 100_000
    assert reader.size == 100_000


def test_hashing_reader_of_nothing_is_the_empty_hash() -> None:
    reader = HashingReader(io.BytesIO(b""))
    assert reader.read() == b""
    assert (reader.size, reader.sha256) == (0, hashlib.sha256().hexdigest())


@given(data=st.binary(max_size=10_000), chunk=st.integers(min_value=1, max_value=4096))
def test_hashing_reader_matches_hashlib_whatever_the_chunking(data: bytes, chunk: int) -> None:
    reader = HashingReader(io.BytesIO(data))
    out = b"".join(iter(lambda: reader.read(chunk), b""))
    assert out == data
    assert reader.sha256 == hashlib.sha256(data).hexdigest()
    assert reader.size == len(data)


@given(st.lists(st.text(alphabet="abcXYZ019_-. ", min_size=1, max_size=8), min_size=1, max_size=5))
def test_joined_plain_parts_are_accepted_unchanged(parts: list[str]) -> None:
    path = "/".join(parts)
    if any(p in {".", ".."} for p in parts):
        with pytest.raises(InvalidArgumentError):
            validate_artifact_path(path)
    else:
        assert validate_artifact_path(path) == path
