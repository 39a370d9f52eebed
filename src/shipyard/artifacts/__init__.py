"""Artifact policy above the byte-level `ArtifactStore` port: path rules and hashing.

Written once for every backend; this package never imports ``shipyard.backends``.
"""

from shipyard.artifacts._keys import MAX_PATH_LENGTH, HashingReader, validate_artifact_path

__all__ = ["MAX_PATH_LENGTH", "HashingReader", "validate_artifact_path"]
