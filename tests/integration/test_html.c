/* Integration: `--out html=FILE` of a real run (two scenarios, thresholds that pass and fail),
 * read by the standard reader: headless Chromium (Debian's chromium, with JavaScript off) takes
 * a screenshot (a PNG of the page, not blank) and dumps the DOM, which Python's html.parser
 * reads back: the verdict and every threshold row match the JSON document, the requests/s
 * points add up to the requests, the failed/s points to the failures, and the percentile
 * chart's points are the JSON's percentiles. The page holds no script and loads nothing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static server srv;

static void stop_all(void)
{
    server_stop(&srv);
}

TestSuite(html, .fini = stop_all);

/* argv: page.html run.json shot.png workdir. Prints "ok ..." or fails with the reason. */
static const char *const reader =
    "import html.parser, json, os, re, subprocess, sys, zlib, struct\n"
    "page, run, shot, work = sys.argv[1:5]\n"
    "raw = open(page, encoding='utf-8').read()\n"
    "low = raw.lower()\n"
    "assert '<script' not in low, 'a script in the page'\n"
    "for bad in (' src=', ' href=', 'url(', '@import', '<link', '<iframe', '<object'):\n"
    "    assert bad not in low, 'the page loads something: ' + bad\n"
    "assert set(re.findall(r'https?://[^\"\\s<]*', raw)) <= {'http://www.w3.org/2000/svg'}, \\\n"
    "    re.findall(r'https?://[^\"\\s<]*', raw)\n"
    "chrome = ['chromium', '--headless', '--no-sandbox', '--disable-gpu',\n"
    "          '--disable-dev-shm-usage', '--disable-javascript', '--no-first-run',\n"
    "          '--user-data-dir=' + os.path.join(work, 'profile')]\n"
    "url = 'file://' + os.path.abspath(page)\n"
    "env = dict(os.environ, HOME=work)\n"
    "subprocess.run(chrome + ['--screenshot=' + shot, '--window-size=1200,2000', url],\n"
    "               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,\n"
    "               timeout=90, check=True)\n"
    "png = open(shot, 'rb').read()\n"
    "assert png[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'not a PNG'\n"
    "assert len(png) > 30000, 'a PNG of %d bytes' % len(png)\n"
    "w, h = struct.unpack('>II', png[16:24])\n"
    "assert (w, h) == (1200, 2000), (w, h)\n"
    "try:\n"
    "    from PIL import Image\n"
    "    im = Image.open(shot).convert('RGB')\n"
    "    colours = im.getcolors(1 << 22)\n"
    "    assert len(colours) > 16, '%d colours' % len(colours)\n"
    "    red = sum(c for c, (r, g, b) in colours if r > 180 and g < 80 and b < 80)\n"
    "    green = sum(c for c, (r, g, b) in colours if g > 100 and r < 60 and b < 90)\n"
    "    assert red > 50, 'no red (the failed verdict, the corrected line)'\n"
    "    assert green > 50, 'no green (the requests/s line)'\n"
    "except ImportError:\n"
    "    pass\n"
    "dom = subprocess.run(chrome + ['--dump-dom', url], env=env, stderr=subprocess.DEVNULL,\n"
    "                     timeout=90, check=True, capture_output=False,\n"
    "                     stdout=subprocess.PIPE).stdout.decode('utf-8')\n"
    "assert '<svg' in dom and 'data-chart' in dom, 'the DOM has no charts'\n"
    "class P(html.parser.HTMLParser):\n"
    "    def __init__(s):\n"
    "        super().__init__(); s.verdict = None; s.thr = []; s.off = {}; s.sc = {}\n"
    "        s.cur = None; s.chart = None; s.scripts = 0\n"
    "    def handle_starttag(s, tag, attrs):\n"
    "        a = dict(attrs)\n"
    "        if tag == 'script': s.scripts += 1\n"
    "        if tag == 'h1' and a.get('id') == 'verdict': s.verdict = a\n"
    "        if tag == 'tr' and 'threshold' in a.get('class', '').split(): s.thr.append(a)\n"
    "        if tag == 'tr' and a.get('class') == 'offered': s.off[a['data-scenario']] = a\n"
    "        if tag == 'section' and a.get('class') == 'scenario':\n"
    "            s.cur = a['data-scenario']; s.sc[s.cur] = {}\n"
    "        if tag == 'figure' and s.cur is not None:\n"
    "            s.chart = a['data-chart']; s.sc[s.cur][s.chart] = []\n"
    "        if tag == 'circle': s.sc[s.cur][s.chart].append(a)\n"
    "    def handle_endtag(s, tag):\n"
    "        if tag == 'section': s.cur = None\n"
    "        if tag == 'figure': s.chart = None\n"
    "p = P(); p.feed(dom)\n"
    "d = json.load(open(run))\n"
    "assert p.scripts == 0\n"
    "assert p.verdict is not None, 'no verdict heading'\n"
    "assert (p.verdict['data-passed'] == 'true') == d['passed'], (p.verdict, d['passed'])\n"
    "assert len(p.thr) == len(d['thresholds']), (len(p.thr), len(d['thresholds']))\n"
    "for row, t in zip(p.thr, d['thresholds']):\n"
    "    assert row['data-expr'] == t['expression'], (row['data-expr'], t['expression'])\n"
    "    assert (row['data-ok'] == 'true') == t['ok'], (row, t)\n"
    "    if t['observed'] is None: assert row['data-observed'] == ''\n"
    "    else: assert abs(float(row['data-observed']) - t['observed']) <= 1e-5 * "
    "abs(t['observed']) + 1e-9, (row, t)\n"
    "    assert abs(float(row['data-limit']) - t['limit']) <= 1e-9 + 1e-5 * abs(t['limit'])\n"
    "assert sorted(p.sc) == sorted(d['scenarios']), (sorted(p.sc), sorted(d['scenarios']))\n"
    "npts = 0\n"
    "for name, s in d['scenarios'].items():\n"
    "    c = p.sc[name]\n"
    "    assert p.off[name]['data-state'] == s['offered_load']['verdict'], (name, p.off[name])\n"
    "    total = s['requests']['ok'] + s['requests']['failed']\n"
    "    rate = c['rate']; npts += len(rate)\n"
    "    assert len(rate) >= 3, (name, len(rate))\n"
    "    ts = [float(x['data-t']) for x in rate]\n"
    "    assert ts == sorted(ts) and len(set(ts)) == len(ts), ts\n"
    "    assert sum(int(x['data-n']) for x in rate) == total, (name, total)\n"
    "    area = sum(float(x['data-v']) * float(x['data-dt']) for x in rate)\n"
    "    assert abs(area - total) <= 0.01 * total + 2, (name, area, total)\n"
    "    fails = sum(int(x['data-n']) for x in c['errors'])\n"
    "    assert fails == s['requests']['failed'], (name, fails, s['requests']['failed'])\n"
    "    assert len(c['p99']) >= 3, (name, len(c['p99']))\n"
    "    for series, key in (('latency', 'latency_ms'), ('service', 'service_time_ms')):\n"
    "        pts = {float(x['data-p']): float(x['data-v']) for x in c['percentiles']\n"
    "               if x['data-series'] == series}\n"
    "        for pct, k in ((99, 'p99'), (50, 'p50'), (90, 'p90'), (0, 'min')):\n"
    "            assert pts[pct] == s[key][k], (name, series, pct, pts[pct], s[key][k])\n"
    "        vs = [pts[k] for k in sorted(pts)]\n"
    "        assert vs == sorted(vs), (name, series, vs)\n"
    "print('ok', len(p.sc), len(p.thr), npts)\n";

static void run_reader(const char *dir, char *out, size_t n)
{
    char py[160], cmd[768];
    snprintf(py, sizeof py, "%s/reader.py", dir);
    FILE *f = fopen(py, "w");
    cr_assert_not_null(f);
    fputs(reader, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s/r.html %s/r.json %s/shot.png %s 2>&1", py,
             dir, dir, dir, dir);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t got = fread(out, 1, n - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    cr_assert_eq(st, 0, "the reader failed:\n%s", out);
}

static bool have_chromium(void)
{
    return system("command -v chromium >/dev/null 2>&1") == 0;
}

static void run_and_read(double sigint_after_s)
{
    cr_assert(have_chromium(), "chromium is not installed (make deps installs it)");
    target_start(&srv);
    char dir[64] = "/tmp/blast-html.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[global]\nbase_url = http://127.0.0.1:%d\nduration = %s\n"
             "threshold = http_req_duration p(99) < 2s\n"
             "out = html=%s/r.html\nout = json=%s/r.json\n"
             "[scenario api]\nexecutor = constant-arrival-rate\nrate = 200/s\npath = /delay/2\n"
             "[scenario web]\nexecutor = constant-arrival-rate\nrate = 100/s\nflow = f\n"
             "threshold = http_req_failed rate < 1%%\n"
             "[step home]\npath = /\n[step broken]\npath = /status/503\n"
             "[flow f]\nstep = home\nstep = broken\n",
             srv.port, sigint_after_s > 0 ? "30s" : "3s", dir, dir);
    blast_run r;
    blast_exec(&r, ini, NULL, sigint_after_s, 40);
    int want = sigint_after_s > 0 ? 130 : 99; /* a failed threshold: 99 */
    cr_assert_eq(r.exit_code, want, "exit %d, not %d: %s", r.exit_code, want, r.stderr_text);
    cr_assert(jnum(&r, "web", "requests", "failed") > 100, "web failed %.0f",
              jnum(&r, "web", "requests", "failed"));
    char out[4096];
    run_reader(dir, out, sizeof out);
    cr_expect(strncmp(out, "ok 2 2 ", 7) == 0, "the reader says: %s", out);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
    blast_run_free(&r);
}

Test(html, the_page_reads_back_in_chromium, .timeout = 240)
{
    run_and_read(0);
}

Test(html, a_ctrl_c_still_writes_the_page, .timeout = 240)
{
    run_and_read(2.5);
}
