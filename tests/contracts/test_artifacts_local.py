import io
import os
from pathlib import Path

import pytest

from shipyard.backends.artifacts.local import LocalArtifactStore
from shipyard.errors import BackendError, ConfigError, InvalidArgumentError
from shipyard.testing.contracts.artifacts import ArtifactStoreContract


class TestLocalArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> LocalArtifactStore:
        return LocalArtifactStore(tmp_path / "artifacts")


def test_from_uri_accepts_file_urls_and_bare_paths(tmp_path: Path) -> None:
    folder = tmp_path / "with space"
    assert LocalArtifactStore.from_uri(folder.as_uri()).root == folder
    assert LocalArtifactStore.from_uri(str(folder)).root == folder
    home = LocalArtifactStore.from_uri("file:///~/shipyard-artifacts").root
    assert home == Path("~/shipyard-artifacts").expanduser()


def test_from_uri_rejects_remote_hosts() -> None:
    with pytest.raises(ConfigError, match="file:///"):
        LocalArtifactStore.from_uri("file://server/share")


def test_temp_files_are_never_listed(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    store.put("run/a.txt", io.BytesIO(b"x"))
    (tmp_path / "run" / ".tmp-leftover").write_bytes(b"half")
    assert list(store.list()) == ["run/a.txt"]


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "a//b", "a/./b", "run/.tmp-x"])
def test_keys_cannot_leave_the_root_or_hit_temp_names(tmp_path: Path, key: str) -> None:
    store = LocalArtifactStore(tmp_path / "root")
    with pytest.raises(InvalidArgumentError, match="key"):
        store.put(key, io.BytesIO(b"x"))


def test_list_rejects_prefixes_that_climb_out(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="prefix"):
        list(LocalArtifactStore(tmp_path).list("../"))


def test_delete_prunes_empty_folders(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    store.put("a/b/c.txt", io.BytesIO(b"x"))
    store.put("a/keep.txt", io.BytesIO(b"x"))
    store.delete("a/b/c.txt")
    assert not (tmp_path / "a" / "b").exists()
    assert (tmp_path / "a" / "keep.txt").exists()


def test_os_errors_become_backend_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a folder")
    store = LocalArtifactStore(blocker)
    with pytest.raises(BackendError, match="Could not write") as info:
        store.put("k", io.BytesIO(b"x"))
    assert isinstance(info.value.__cause__, OSError)
    assert info.value.backend == "local"


def test_stored_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    store = LocalArtifactStore(tmp_path)
    store.put("a.txt", io.BytesIO(b"x"))
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask
