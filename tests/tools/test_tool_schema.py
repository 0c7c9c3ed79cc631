"""BFCL function documents to OpenAI tools and JSON Schema validation of arguments."""

from __future__ import annotations

from mlx_benchmarks.scoring.tool_schema import schema_errors, to_json_schema, to_openai_tools, tool_name

DOC = {
    "name": "uber.ride",
    "description": "Book a ride.",
    "parameters": {"type": "dict", "required": ["loc", "type", "ghost"], "properties": {
        "loc": {"type": "string", "description": "where"},
        "type": {"type": "string", "enum": ["plus", "comfort"]},
        "time": {"type": "float"},
        "stops": {"type": "tuple", "items": {"type": "dict", "properties": {"n": {"type": "integer"}}}},
        "blob": {"type": "any"},
    }},
}


def test_types_are_translated_and_parameter_names_left_alone() -> None:
    schema = to_json_schema(DOC["parameters"])
    assert schema["type"] == "object"
    assert schema["properties"]["type"] == {"type": "string", "enum": ["plus", "comfort"]}
    assert schema["properties"]["time"]["type"] == "number"
    assert schema["properties"]["stops"]["type"] == "array"
    assert schema["properties"]["stops"]["items"]["properties"]["n"]["type"] == "integer"
    assert "type" not in schema["properties"]["blob"]
    assert schema["required"] == ["loc", "type"]  # "ghost" is not a property


def test_openai_tools_have_legal_names_and_a_map_back() -> None:
    tools, names = to_openai_tools([DOC])
    assert tools[0]["type"] == "function"
    assert tools[0]["function"]["name"] == "uber_ride" == tool_name("uber.ride")
    assert names == {"uber_ride": "uber.ride"}
    assert tool_name("a b/c" * 30) == ("a_b_c" * 30)[:64]


def test_schema_errors() -> None:
    schema = to_json_schema(DOC["parameters"])
    assert schema_errors({"loc": "x", "type": "plus", "time": 3, "stops": [{"n": 1}]}, schema) == []
    errors = schema_errors({"loc": 1, "type": "bike", "stops": [{"n": "one"}]}, schema)
    assert any(e.startswith("$.loc:") for e in errors)
    assert any(e.startswith("$.type:") for e in errors)
    assert any(e.startswith("$.stops[0].n:") for e in errors)
    assert schema_errors({}, {"type": "nonsense-type"})[0].startswith("schema itself is invalid")
