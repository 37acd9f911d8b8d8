"""axe-core in the browser tests: run WCAG 2.0/2.1 A and AA rules on a Playwright page.

axe-playwright-python ships axe-core inside its wheel (requirements/dev.txt), so nothing is
fetched at test time. ``assert_accessible(page)`` fails with one readable line per offending
element: rule id, impact, CSS target and axe's help text.
"""

from __future__ import annotations

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Rules switched off, with the reason. Keep this the only place a rule is disabled.
DISABLED_RULES: dict[str, str] = {}


# Every axe rule with one of WCAG_TAGS runs, the "experimental" ones included: label-in-name
# (label-content-name-mismatch) is one of them, and an audit found it failing on the kiosk.
RUN_AXE = """async ([context, tags, disabled]) => {
  const rules = {};
  for (const rule of axe.getRules(tags)) { rules[rule.ruleId] = {enabled: !disabled.includes(rule.ruleId)}; }
  const options = {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"], rules};
  const results = await axe.run(context || document, options);
  return results.violations;
}"""


def axe_violations(page, *, context: str | dict | None = None) -> list[dict]:
    """axe's violations on the page as it is now (``context``: a selector or axe context to limit it)."""
    from axe_playwright_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)
    return page.evaluate(RUN_AXE, [context, WCAG_TAGS, list(DISABLED_RULES)])


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} [{violation['helpUrl']}]")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


def assert_accessible(page, *, context: str | dict | None = None, where: str = "") -> None:
    """Fail on any WCAG 2.0/2.1 A or AA violation axe finds on the page."""
    violations = axe_violations(page, context=context)
    assert not violations, f"axe found {len(violations)} rule(s) violated on {where or page.url}:\n{describe(violations)}"
