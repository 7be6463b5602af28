"""The framework docs are the data's own output: the README's frameworks table and
shared/frameworks/MAPPINGS.md are regenerated here and must match, and the CLI prints the figures."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.frameworks import MAPPINGS_DOC, coverage, coverage_markdown, mappings_markdown
from cli.main import main
from shared.frameworks.library import builtin_frameworks

README = Path(__file__).resolve().parents[3] / "README.md"
FIX = "regenerate with `policycortex frameworks {}`"


def test_readme_frameworks_table_is_current():
    text = README.read_text()
    start = text.index("-->\n", text.index("<!-- frameworks-table")) + len("-->\n")
    table = text[start : text.index("<!-- /frameworks-table -->")]
    assert table == coverage_markdown([coverage(f) for f in builtin_frameworks().values()]), FIX.format(
        "coverage --markdown"
    )


def test_mappings_doc_is_current():
    expected = mappings_markdown(list(builtin_frameworks().values()))
    assert MAPPINGS_DOC.read_text() == expected, FIX.format("mappings --markdown > shared/frameworks/MAPPINGS.md")
    for framework in builtin_frameworks().values():
        for control in framework.controls:
            for policy_id in control.policy_ids:
                assert control.rationales[policy_id] in expected


def test_cli_prints_the_coverage_of_each_benchmark():
    result = CliRunner().invoke(main, ["frameworks", "coverage", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.output)}
    aws = rows["cis-aws"]["coverage"]
    assert aws["covered"] + aws["not_covered"] + aws["manual"] == rows["cis-aws"]["controls"]
    assert "4.16" in aws["not_covered_ids"] and "coverage" not in rows["soc2"]
    assert rows["soc2"]["automated"] + rows["soc2"]["manual"] == 61
    text = CliRunner().invoke(main, ["frameworks", "coverage", "--not-covered"]).output
    assert "cis-gcp" in text and "not yet covered: " in text
    mappings = CliRunner().invoke(main, ["frameworks", "mappings", "hipaa"]).output.splitlines()
    assert mappings and all(line.startswith("hipaa\t164.") and len(line.split("\t")) == 4 for line in mappings)
    assert CliRunner().invoke(main, ["frameworks", "mappings", "nope"]).exit_code == 2
