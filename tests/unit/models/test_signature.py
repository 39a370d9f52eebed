from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import InvalidArgumentError, SignatureError
from shipyard.models import (
    ColSpec,
    Signature,
    TensorSpec,
    infer_signature,
    signature_from_dict,
    signature_to_dict,
    validate_input,
)

FRAME = pd.DataFrame({"age": [30, 40], "income": [1.5, 2.5], "city": ["a", "b"],
                      "vip": [True, False],
                      "seen": pd.to_datetime(["2024-01-01", "2024-02-01"])})


def sig() -> Signature:
    return infer_signature(FRAME)


def test_infers_column_types_from_a_dataframe() -> None:
    assert sig().inputs == (
        ColSpec(name="age", type="int64"), ColSpec(name="income", type="float64"),
        ColSpec(name="city", type="string"), ColSpec(name="vip", type="bool"),
        ColSpec(name="seen", type="datetime"))


def test_infers_a_tensor_from_an_array_and_round_trips_as_json() -> None:
    s = infer_signature(np.zeros((5, 3), dtype=np.float32), np.zeros(5))
    assert s.inputs == TensorSpec(type="float32", shape=(-1, 3))
    assert s.outputs == TensorSpec(type="float64", shape=(-1,))
    assert signature_from_dict(signature_to_dict(s)) == s
    assert signature_from_dict(signature_to_dict(sig())) == sig()


def test_infer_rejects_columns_of_python_objects() -> None:
    with pytest.raises(InvalidArgumentError, match="'blob'"):
        infer_signature(pd.DataFrame({"blob": [{"a": 1}]}))


def test_valid_input_is_cast_and_reordered() -> None:
    rows = [{"vip": False, "seen": "2024-03-01", "city": "c", "income": 3, "age": 50.0}]
    out = validate_input(sig(), rows)
    assert list(out.columns) == ["age", "income", "city", "vip", "seen"]
    assert out["age"].dtype == np.int64
    assert out["income"].dtype == np.float64
    assert out["seen"].dtype.kind == "M"


def test_missing_column_names_the_column_and_type() -> None:
    with pytest.raises(SignatureError, match="missing column 'income'") as info:
        validate_input(sig(), FRAME.drop(columns=["income"]))
    assert (info.value.column, info.value.expected) == ("income", "float64")


def test_extra_column_is_named() -> None:
    with pytest.raises(SignatureError, match="'extra'") as info:
        validate_input(sig(), FRAME.assign(extra=1))
    assert info.value.column == "extra"


def test_string_where_a_float_is_expected_names_column_value_and_type() -> None:
    bad = FRAME.astype({"income": object})
    bad.loc[1, "income"] = "abc"
    with pytest.raises(SignatureError, match="Column 'income' has value 'abc' at row 1") as info:
        validate_input(sig(), bad)
    assert (info.value.column, info.value.value, info.value.expected) == (
        "income", "abc", "float64")


def test_fraction_where_an_int_is_expected() -> None:
    with pytest.raises(SignatureError, match="fraction") as info:
        validate_input(sig(), FRAME.assign(age=[30.0, 40.5]))
    assert info.value.value == 40.5


def test_number_where_a_string_or_bool_is_expected() -> None:
    with pytest.raises(SignatureError, match="'city'"):
        validate_input(sig(), FRAME.assign(city=[1, 2]))
    with pytest.raises(SignatureError, match="'vip'"):
        validate_input(sig(), FRAME.assign(vip=["yes", "no"]))
    with pytest.raises(SignatureError, match="'seen'"):
        validate_input(sig(), FRAME.assign(seen=["not a date", "2024-01-01"]))


def test_wrong_tensor_shape_and_dtype() -> None:
    s = infer_signature(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(SignatureError, match=r"shape \(2, 4\)") as info:
        validate_input(s, np.zeros((2, 4), dtype=np.float32))
    assert info.value.expected == "shape (-1, 3)"
    with pytest.raises(SignatureError, match="reshape"):
        validate_input(s, np.zeros(3, dtype=np.float32))
    with pytest.raises(SignatureError, match="Column 1 of the input array has value 'x'"):
        validate_input(s, [[1.0, "x", 2.0]])


def test_tensor_fast_path_returns_the_same_array_and_casts_safely() -> None:
    s = infer_signature(np.zeros((2, 3), dtype=np.float32))
    x = np.ones((1, 3), dtype=np.float32)
    assert validate_input(s, x) is x
    assert validate_input(s, np.ones((1, 3), dtype=np.int64)).dtype == np.float32
    assert validate_input(s, [[1, 2, 3]]).dtype == np.float32


def test_array_of_the_right_width_matches_columns_by_position() -> None:
    s = infer_signature(FRAME[["age", "income"]])
    out = validate_input(s, np.array([[1, 2.5]]))
    assert list(out.columns) == ["age", "income"]
    with pytest.raises(SignatureError, match="2 columns"):
        validate_input(s, np.zeros((1, 3)))
