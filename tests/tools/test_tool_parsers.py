"""Tool calls from text: Hermes tags, Llama 3 JSON and python_tag, fenced JSON, python-style calls."""

from __future__ import annotations

from mlx_benchmarks.scoring.tool_parsers import extract_calls, from_native, from_text, path_counts


def test_hermes_tags_several_calls() -> None:
    text = ('Sure.<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>'
            '<tool_call>{"name": "g", "arguments": "{\\"y\\": 2}"}</tool_call>')
    calls = from_text(text)
    assert [(c.name, c.arguments, c.path) for c in calls] == [("f", {"x": 1}, "hermes"), ("g", {"y": 2}, "hermes")]


def test_hermes_with_broken_json_is_an_invalid_call_not_no_call() -> None:
    calls = from_text('<tool_call>{"name": "f", "arguments": {"x": 1,}}</tool_call>')
    assert len(calls) == 1 and calls[0].name == "f" and not calls[0].json_valid


def test_unclosed_hermes_tag_still_parses() -> None:
    assert [c.name for c in from_text('<tool_call>{"name": "f", "arguments": {}}')] == ["f"]


def test_llama3_python_tag_and_bare_json() -> None:
    tagged = from_text('<|python_tag|>{"name": "a", "parameters": {"q": "x"}}; {"name": "b", "parameters": {}}<|eom_id|>')
    assert [(c.name, c.arguments, c.path) for c in tagged] == [("a", {"q": "x"}, "llama3-python-tag"),
                                                                 ("b", {}, "llama3-python-tag")]
    bare = from_text(' {"name": "a", "parameters": {"q": 1}} ')
    assert [(c.name, c.path) for c in bare] == [("a", "llama3-json")]
    listed = from_text('[{"name": "a", "arguments": {}}, {"name": "b", "parameters": {"z": [1]}}]')
    assert [c.name for c in listed] == ["a", "b"]


def test_fenced_json_block() -> None:
    calls = from_text('I will call it:\n```json\n{"name": "f", "arguments": {"k": "v"}}\n```')
    assert [(c.name, c.arguments, c.path) for c in calls] == [("f", {"k": "v"}, "json-fenced")]


def test_python_style_calls() -> None:
    calls = from_text('[math.hypot(x=4, y=5), area(r=2.5, unit="m")]')
    assert [(c.name, c.arguments, c.path) for c in calls] == [("math.hypot", {"x": 4, "y": 5}, "python"),
                                                               ("area", {"r": 2.5, "unit": "m"}, "python")]


def test_plain_text_and_non_call_json_give_nothing() -> None:
    assert from_text("The capital of France is Paris.") == []
    assert from_text('{"answer": 42}') == []
    assert from_text("[1, 2, 3]") == []


def test_native_calls_win_and_arguments_are_checked() -> None:
    native = [{"id": "1", "name": "f", "arguments": '{"a": 1}'}, {"id": "2", "name": "g", "arguments": "{bad"},
              {"id": "3", "name": "h", "arguments": ""}, {"id": "4", "name": "i", "arguments": "[1]"}]
    calls = extract_calls('<tool_call>{"name": "z", "arguments": {}}</tool_call>', native)
    assert [c.name for c in calls] == ["f", "g", "h", "i"]
    assert [c.json_valid for c in calls] == [True, False, True, False]
    assert path_counts(calls) == {"native": 4}
    assert from_native([])[:1] == []
    assert extract_calls('<tool_call>{"name": "z", "arguments": {}}</tool_call>', [], parse_text=False) == []
