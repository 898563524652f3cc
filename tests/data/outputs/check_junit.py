#!/usr/bin/python3
"""Reads a blast `--out junit` document the way CI reporters do and checks it against the
expectations a test wrote (JSON).

    check_junit.py DOCUMENT EXPECT.json

Two readers, both strict: xml.etree.ElementTree (expat: the bytes must be well-formed UTF-8
XML 1.0) and junitparser, the library GitLab-style tooling uses to read JUnit reports. Exits
non-zero with the reason on the first mismatch; prints one line per test case on success.

EXPECT.json (every key optional: without "suites", only the counts must agree with the cases):
             {"tests": N, "failures": N,
              "suites": [{"name": ..., "cases": [{"classname", "name", "status": "pass" |
                          "failure", "type"?, "message"?, "details_contains"?,
                          "system_out_contains"?}]}]}
"""
import datetime
import json
import sys
import xml.etree.ElementTree as ET

from junitparser import Error, Failure, JUnitXml, Skipped


def fail(msg):
    print("check_junit: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    doc, expect_path = sys.argv[1], sys.argv[2]
    with open(expect_path, encoding="utf-8") as f:
        exp = json.load(f)
    raw = open(doc, "rb").read()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("not UTF-8: %s" % e)
    if not raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'):
        fail("no XML declaration")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as e:
        fail("not well-formed XML: %s" % e)
    if root.tag != "testsuites" or root.get("name") != "blast":
        fail("root is <%s name=%r>, expected <testsuites name='blast'>" % (root.tag, root.get("name")))
    for attr in ("tests", "failures", "errors", "time"):
        if root.get(attr) is None:
            fail("<testsuites> lacks %s" % attr)
    if "tests" in exp and (int(root.get("tests")) != exp["tests"]
                           or int(root.get("failures")) != exp["failures"]):
        fail("testsuites tests=%s failures=%s, expected %d and %d"
             % (root.get("tests"), root.get("failures"), exp["tests"], exp["failures"]))
    if root.get("errors") != "0":
        fail("errors=%s" % root.get("errors"))
    float(root.get("time"))

    xml = JUnitXml.fromfile(doc)
    suites = list(xml)
    if "suites" not in exp:  # only the document's own consistency
        exp["suites"] = [{"name": s.name, "cases": None} for s in suites]
    if [s.name for s in suites] != [s["name"] for s in exp["suites"]]:
        fail("suites %r, expected %r" % ([s.name for s in suites], [s["name"] for s in exp["suites"]]))
    names = set()
    total = failures = 0
    for suite, es in zip(suites, exp["suites"]):
        datetime.datetime.strptime(suite.timestamp, "%Y-%m-%dT%H:%M:%SZ")
        cases = list(suite)
        if es["cases"] is None:
            es["cases"] = [None] * len(cases)
        if suite.tests != len(cases) or suite.tests != len(es["cases"]):
            fail("suite %s: tests=%s with %d cases, expected %d"
                 % (suite.name, suite.tests, len(cases), len(es["cases"])))
        nfail = 0
        for case, ec in zip(cases, es["cases"]):
            where = "suite %s case %r" % (suite.name, case.name)
            if case.name in names:
                fail(where + ": a second case of that name (GitLab would drop it)")
            names.add(case.name)
            results = case.result
            bad = [r for r in results if isinstance(r, (Failure, Error))]
            if ec is None:  # no expectation: any well-formed case
                ec = {"classname": case.classname, "name": case.name,
                      "status": "failure" if bad else "pass"}
                if bad:
                    ec.update(type=bad[0].type, message=bad[0].message)
            if not case.classname or not case.classname.startswith("blast"):
                fail(where + ": classname %r" % case.classname)
            if case.classname != ec["classname"] or case.name != ec["name"]:
                fail("%s: classname %r name %r, expected %r %r"
                     % (where, case.classname, case.name, ec["classname"], ec["name"]))
            if any(isinstance(r, (Error, Skipped)) for r in results):
                fail(where + ": an error or skipped result")
            status = "failure" if bad else "pass"
            if status != ec["status"]:
                fail("%s: %s, expected %s" % (where, status, ec["status"]))
            if bad:
                nfail += 1
                r = bad[0]
                if r.type != ec["type"] or r.message != ec["message"]:
                    fail("%s: failure type %r message %r, expected %r %r"
                         % (where, r.type, r.message, ec["type"], ec["message"]))
                if ec.get("details_contains") and ec["details_contains"] not in (r.text or ""):
                    fail("%s: failure text %r lacks %r" % (where, r.text, ec["details_contains"]))
            if ec.get("system_out_contains") and ec["system_out_contains"] not in (case.system_out or ""):
                fail("%s: system-out %r lacks %r" % (where, case.system_out, ec["system_out_contains"]))
            print("%s|%s|%s|%s|%s" % (suite.name, case.classname, case.name, status,
                                      bad[0].message if bad else ""))
        if suite.failures != nfail:
            fail("suite %s: failures=%s, counted %d" % (suite.name, suite.failures, nfail))
        total += len(cases)
        failures += nfail
    if int(root.get("tests")) != total or int(root.get("failures")) != failures:
        fail("testsuites says tests=%s failures=%s, the suites hold %d and %d"
             % (root.get("tests"), root.get("failures"), total, failures))
    if "tests" in exp and (total != exp["tests"] or failures != exp["failures"]):
        fail("%d cases, %d failed; expected %d and %d" % (total, failures, exp["tests"], exp["failures"]))


main()
