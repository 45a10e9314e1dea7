"""Runs a test file's `check_*` functions: one PASS/FAIL line each, the
failures' tracebacks, and a summary; returns the exit status."""
import traceback


def run_checks(namespace, width=32):
    checks = [(n, f) for n, f in namespace.items() if n.startswith("check_")]
    passed = failed = 0
    for name, fn in checks:
        try:
            fn()
            print(f"{name[6:]:<{width}} PASS", flush=True)
            passed += 1
        except Exception:
            print(f"{name[6:]:<{width}} FAIL", flush=True)
            traceback.print_exc(limit=2)
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
