"""Model packaging: save a model with its signature, example and reference profile into a
run's artifacts, and load it back as a `PyFuncModel` (or its native object).

Heavy libraries load only when their flavor is used (see ``shipyard.models.flavors``).
"""

from shipyard.models._package import ModelInfo, ModelService
from shipyard.models._profile import compute_profile
from shipyard.models._pyfunc import PyFuncModel
from shipyard.models._python_model import ModelContext, PythonModel
from shipyard.models._signature import (
    ColSpec,
    Signature,
    TensorSpec,
    infer_signature,
    signature_from_dict,
    signature_to_dict,
    validate_input,
)
from shipyard.models._uri import ModelUri, parse_model_uri

__all__ = [
    "ColSpec",
    "ModelContext",
    "ModelInfo",
    "ModelService",
    "ModelUri",
    "PyFuncModel",
    "PythonModel",
    "Signature",
    "TensorSpec",
    "compute_profile",
    "infer_signature",
    "parse_model_uri",
    "signature_from_dict",
    "signature_to_dict",
    "validate_input",
]
