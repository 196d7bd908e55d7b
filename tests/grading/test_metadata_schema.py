"""nbgrader's metadata validation gives the same answers with the schema checked once."""

import copy

import jsonschema
import pytest
from nbformat.v4 import new_code_cell
from nbgrader.nbgraderformat import ValidationError as NbgraderValidationError
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from autograding.grading.metadata_schema import cached_validate, validate_schema_once

GOOD = {"grade": True, "grade_id": "test_one", "locked": True, "points": 2,
        "schema_version": 3, "solution": False}
BAD = [
    {**GOOD, "points": "two"},
    {**GOOD, "grade_id": 7},
    {**GOOD, "unknown_key": 1},
    {k: v for k, v in GOOD.items() if k != "grade_id"},
    {**GOOD, "grade": "yes", "locked": "no"},
]


def _error(validate, instance, schema):
    try:
        validate(instance, schema)
    except jsonschema.ValidationError as err:
        return (err.message, list(err.absolute_path), err.validator)
    return None


@pytest.mark.parametrize("metadata", [GOOD, *BAD])
def test_same_verdict_and_error_as_jsonschema(metadata):
    schema = MetadataValidatorV3().schema
    assert _error(cached_validate, metadata, schema) == _error(jsonschema.validate, metadata,
                                                               schema)


def test_a_broken_schema_is_still_refused_and_schemas_are_not_confused():
    with pytest.raises(jsonschema.SchemaError):
        cached_validate({}, {"type": "no such type"})
    assert cached_validate(1, {"type": "integer"}) is None
    with pytest.raises(jsonschema.ValidationError):
        cached_validate(1, {"type": "string"})


def test_nbgrader_validator_uses_it_and_still_rejects_bad_metadata():
    validate_schema_once()
    validate_schema_once()
    validator = MetadataValidatorV3()
    validator.validate_cell(new_code_cell("x = 1", metadata={"nbgrader": copy.deepcopy(GOOD)}))
    for metadata in BAD:
        cell = new_code_cell("x = 1", metadata={"nbgrader": copy.deepcopy(metadata)})
        with pytest.raises((jsonschema.ValidationError, NbgraderValidationError)):
            validator.validate_cell(cell)
