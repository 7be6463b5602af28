"""The library docs are the data's own output: the README's frameworks table, policy counts per
service and CIS AWS recommendation table, and shared/frameworks/MAPPINGS.md are regenerated here
and must match, and the CLI prints the figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.frameworks import MAPPINGS_DOC, coverage, coverage_markdown, mappings_markdown, recommendations_markdown
from cli.main import main
from cli.policies import counts_markdown, service_counts
from shared.frameworks.library import builtin_frameworks

README = Path(__file__).resolve().parents[3] / "README.md"
FIX = "regenerate with `make docs` (or `policycortex frameworks {}`)"


def readme_part(marker: str) -> str:
    """What the README holds between `<!-- marker ... -->` and `<!-- /marker -->`."""
    text = README.read_text()
    start = text.index("-->\n", text.index(f"<!-- {marker}")) + len("-->\n")
    return text[start : text.index(f"<!-- /{marker} -->")]


def test_readme_frameworks_table_is_current():
    table = coverage_markdown([coverage(f) for f in builtin_frameworks().values()])
    assert readme_part("frameworks-table") == table, FIX.format("coverage --markdown")


def test_readme_policy_counts_are_the_library():
    assert readme_part("policy-counts") == counts_markdown(service_counts()), (
        "regenerate with `policycortex policies coverage --markdown`"
    )


@pytest.mark.parametrize("benchmark", ["cis-aws", "cis-azure", "cis-gcp"])
def test_readme_cis_tables_are_current(benchmark):
    table = recommendations_markdown(builtin_frameworks()[benchmark])
    assert readme_part(f"{benchmark}-recommendations") == table, FIX.format(f"recommendations {benchmark} --markdown")


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
    assert aws["not_covered_ids"] == ["2.1.3"] and "coverage" not in rows["soc2"]  # Macie: see the README
    assert rows["soc2"]["automated"] + rows["soc2"]["manual"] == 61
    text = CliRunner().invoke(main, ["frameworks", "coverage", "--not-covered"]).output
    assert "cis-gcp" in text and "not yet covered: " in text
    mappings = CliRunner().invoke(main, ["frameworks", "mappings", "hipaa"]).output.splitlines()
    assert mappings and all(line.startswith("hipaa\t164.") and len(line.split("\t")) == 4 for line in mappings)
    assert CliRunner().invoke(main, ["frameworks", "mappings", "nope"]).exit_code == 2


def test_cli_prints_policy_counts_and_benchmark_recommendations():
    rows = json.loads(CliRunner().invoke(main, ["policies", "coverage", "--json", "--provider", "aws"]).output)
    assert sum(row["policies"] for row in rows) >= 250 and sum(row["resource_types"] for row in rows) >= 60
    assert {row["provider"] for row in rows} == {"aws"}
    lines = CliRunner().invoke(main, ["frameworks", "recommendations", "cis-aws"]).output.splitlines()
    assert "3.4\tcovered\tpol_cloudtrail_bucket_access_logging" in lines
    assert CliRunner().invoke(main, ["frameworks", "recommendations", "soc2"]).exit_code == 2
