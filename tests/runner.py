"""
The test runner: Evennia's, plus one closing line that says what happened.

Django's runner ends with "OK" or "FAILED (...)"; CI tools read the plain
"N passed, N failed, N skipped" line this adds.
"""

from evennia.server.tests.testrunner import EvenniaTestSuiteRunner


class TimmyTestRunner(EvenniaTestSuiteRunner):
    """EvenniaTestSuiteRunner with a summary line at the end."""

    def run_suite(self, suite, **kwargs):
        result = super().run_suite(suite, **kwargs)
        failed = len(result.failures) + len(result.errors) + len(getattr(result, "unexpectedSuccesses", []))
        skipped = len(result.skipped)
        passed = max(0, result.testsRun - failed - skipped)
        print(f"\n{passed} passed, {failed} failed, {skipped} skipped", flush=True)
        return result
