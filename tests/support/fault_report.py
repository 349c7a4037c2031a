"""The figures of each fault scenario, printed in the summary at the end of the run.

A scenario records its line before it asserts, so a failing scenario still
shows what it saw. The lines appear without `-s`, after pytest's own summary:

    FAULT broker-outage: signatures=200 confirmations=200 letters=400/400 duplicates=0 recovery=12.3s

Use the `fault_report` fixture (registered for every test by `pytest_plugins` in
tests/conftest.py).
"""

import pytest

_PLUGIN_NAME = "campaign-fault-report"


class FaultReport:
    def __init__(self):
        self.lines = []

    def add(self, scenario, **figures):
        line = f"FAULT {scenario}: " + " ".join(f"{name}={_format(value)}" for name, value in figures.items())
        self.lines.append(line)
        return line

    def pytest_terminal_summary(self, terminalreporter):
        if self.lines:
            terminalreporter.section("fault-injection summary")
            for line in self.lines:
                terminalreporter.write_line(line)


def _format(value):
    return f"{value:.1f}s" if isinstance(value, float) else str(value)


@pytest.fixture
def fault_report(request):
    manager = request.config.pluginmanager
    report = manager.get_plugin(_PLUGIN_NAME)
    if report is None:
        # Registered on first use: pytest calls the hooks of plugins
        # registered during the run, including pytest_terminal_summary.
        report = FaultReport()
        manager.register(report, _PLUGIN_NAME)
    return report
