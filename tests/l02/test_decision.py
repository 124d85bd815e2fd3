"""What the agent asks the model, and how an untrusted answer is read."""

import jsonschema
import pytest

from services.l02_runtime import decision
from services.l02_runtime.decision import CALL_TOOL, FINISH, ToolInfo

pytestmark = [pytest.mark.unit, pytest.mark.l02]

PYTHON = ToolInfo("python_exec", "Runs Python code.", {"type": "object"})


def test_the_schema_names_only_the_allowed_tools() -> None:
    schema = decision.decision_schema([PYTHON])
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"action": "call_tool", "tool": "python_exec", "arguments": {}})
    assert not validator.is_valid({"action": "call_tool", "tool": "shell"})
    assert not validator.is_valid({"action": "explode"})


def test_without_tools_the_only_action_is_to_finish() -> None:
    schema = decision.decision_schema([])
    assert schema["properties"]["action"]["enum"] == [FINISH]
    assert "tool" not in schema["properties"]


def test_a_final_answer() -> None:
    read = decision.read_decision({"action": "finish", "answer": "4"}, "", ("python_exec",))
    assert (read.action, read.answer, read.problem) == (FINISH, "4", "")


def test_a_tool_call_from_the_text_when_nothing_structured_came() -> None:
    content = '{"action": "call_tool", "tool": "python_exec", "arguments": {"code": "print(1)"}}'
    read = decision.read_decision(None, content, ("python_exec",))
    assert (read.action, read.tool, read.arguments) == (
        CALL_TOOL,
        "python_exec",
        {"code": "print(1)"},
    )


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"action": "call_tool", "tool": "shell", "arguments": {}}, "not allowed for this agent"),
        ({"action": "call_tool", "arguments": {}}, "without a tool name"),
        ({"action": "call_tool", "tool": "python_exec", "arguments": [1]}, "must be an object"),
        ({"action": "dance"}, "unknown action"),
        ("not json", "not a JSON object"),
    ],
)
def test_unusable_answers_are_problems_for_the_model_not_errors(answer, problem) -> None:
    structured = answer if isinstance(answer, dict) else None
    content = answer if isinstance(answer, str) else ""
    read = decision.read_decision(structured, content, ("python_exec",))
    assert read.action == ""
    assert problem in read.problem


def test_the_system_prompt_describes_each_allowed_tool() -> None:
    prompt = decision.system_prompt("debugger", ("python",), "Be brief.", [PYTHON])
    assert "debugger" in prompt and "python_exec: Runs Python code." in prompt
    assert "Be brief." in prompt


def test_tool_output_read_back_is_cut_and_names_the_limit() -> None:
    message = decision.tool_result_message("shell", -1, "x" * 5000, "", "time")
    assert "time limit" in message and len(message) < 2200
