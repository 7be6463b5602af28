"""Regenerate the library docs from the data (`make docs`): the README's frameworks table, policy
counts and CIS recommendation tables, and shared/frameworks/MAPPINGS.md. The same functions print
them in the CLI, and tests/shared/frameworks/test_docs.py fails when a part is stale."""

from __future__ import annotations

from pathlib import Path

from cli.frameworks import MAPPINGS_DOC, coverage, coverage_markdown, mappings_markdown, recommendations_markdown
from cli.policies import counts_markdown, service_counts
from shared.frameworks.library import builtin_frameworks

README = Path(__file__).resolve().parents[1] / "README.md"


def generated_parts() -> dict[str, str]:
    """README marker -> the text between `<!-- marker ... -->` and `<!-- /marker -->`."""
    frameworks = builtin_frameworks()
    parts = {
        "frameworks-table": coverage_markdown([coverage(f) for f in frameworks.values()]),
        "policy-counts": counts_markdown(service_counts()),
    }
    for benchmark in ("cis-aws", "cis-azure", "cis-gcp"):
        parts[f"{benchmark}-recommendations"] = recommendations_markdown(frameworks[benchmark])
    return parts


def replace_part(text: str, marker: str, body: str) -> str:
    start = text.index("-->\n", text.index(f"<!-- {marker}")) + len("-->\n")
    end = text.index(f"<!-- /{marker} -->")
    return text[:start] + body + text[end:]


def main() -> None:
    text = README.read_text()
    for marker, body in generated_parts().items():
        text = replace_part(text, marker, body)
    README.write_text(text)
    MAPPINGS_DOC.write_text(mappings_markdown(list(builtin_frameworks().values())))
    print(f"regenerated {README.name} ({len(generated_parts())} parts) and {MAPPINGS_DOC.name}")


if __name__ == "__main__":
    main()
