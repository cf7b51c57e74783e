"""`pip install examples/python` works offline, and the installed package
imports against an installed library: the documented command
(docs/guide-python.md, README.md) into a --system-site-packages venv, then
`import fden` from outside the source tree with FDEN_LIBRARY unset and the
library only on LD_LIBRARY_PATH, as for a `meson install` prefix."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import fden

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(HERE))
# the documented command, with VENV for the venv's directory
PIP_ARGS = ["install", "--no-build-isolation", "--no-index"]

PROBE = r"""
import importlib.metadata, os, sys
import fden
maps = open("/proc/self/maps").read().split("\n")
libs = sorted({l.split()[-1] for l in maps if "libfden.so" in l})
print("FILE", fden.__file__)
print("LIB", fden.library_path)
print("MAPPED", *libs)
print("VERSION", importlib.metadata.version("fden"), fden.version())
print("WORKS", fden.fewshot_eval.__name__, fden.Model(dim=4, seed=1).dim)
"""


def _meson_version():
    with open(os.path.join(ROOT, "meson.build")) as f:
        return re.search(r"version:\s*'([^']+)'", f.read()).group(1)


class Install(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        # a copy of the package source, so that the build leaves no build/
        # or *.egg-info in the tree under test
        self.src = os.path.join(self.tmp, "python")
        shutil.copytree(HERE, self.src, ignore=shutil.ignore_patterns(
            "tests", "build", "*.egg-info", "__pycache__"))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_ok(self, args, **kw):
        r = subprocess.run(args, capture_output=True, text=True, **kw)
        if r.returncode != 0:
            self.fail("%s failed (%d):\n%s%s" % (" ".join(args), r.returncode, r.stdout,
                                                 r.stderr))
        return r.stdout

    def probe_env(self):
        """FDEN_LIBRARY unset: the library is found as an installed one."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("FDEN_LIBRARY", "FDEN_BUILD_DIR", "PYTHONPATH")}
        libdir = os.path.dirname(os.path.realpath(fden.library_path))
        env["LD_LIBRARY_PATH"] = libdir + (":" + env["LD_LIBRARY_PATH"]
                                           if env.get("LD_LIBRARY_PATH") else "")
        return env, libdir

    def check_probe(self, python, site):
        env, libdir = self.probe_env()
        out = self.run_ok([python, "-B", "-c", PROBE], cwd=self.tmp, env=env)
        got = dict(line.split(" ", 1) for line in out.strip().split("\n"))
        # the installed copy, not the source tree
        self.assertTrue(os.path.realpath(got["FILE"]).startswith(os.path.realpath(site)),
                        got["FILE"])
        # the system's name (libfden.so.0), resolved by the loader to libdir
        self.assertEqual(got["LIB"], "libfden.so.0")
        mapped = got["MAPPED"].split()
        self.assertEqual(len(mapped), 1, mapped)
        self.assertEqual(os.path.dirname(os.path.realpath(mapped[0])), libdir)
        dist, lib = got["VERSION"].split()
        self.assertEqual(dist, lib)                  # package version == library version
        self.assertEqual(dist, _meson_version())
        self.assertEqual(got["WORKS"], "fewshot_eval 4")

    def test_venv(self):
        venv = os.path.join(self.tmp, "venv")
        self.run_ok([sys.executable, "-m", "venv", "--system-site-packages", venv])
        pip = os.path.join(venv, "bin", "pip")
        # no network: an index would be refused by --no-index anyway
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        self.run_ok([pip] + PIP_ARGS + [self.src], env=env)
        python = os.path.join(venv, "bin", "python")
        site = self.run_ok([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
        self.check_probe(python, site.strip())
        # and it uninstalls cleanly
        self.run_ok([pip, "uninstall", "-y", "fden"])
        env, _ = self.probe_env()
        r = subprocess.run([python, "-c", "import fden"], cwd=self.tmp, env=env,
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("No module named 'fden'", r.stderr)

    def test_target(self):
        target = os.path.join(self.tmp, "target")
        self.run_ok([sys.executable, "-m", "pip"] + PIP_ARGS
                    + ["--no-deps", "--target", target, self.src],
                    env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
        self.assertTrue(os.path.isfile(os.path.join(target, "fden", "_lib.py")))
        self.assertFalse(os.path.exists(os.path.join(target, "tests")))
        env, _ = self.probe_env()
        env["PYTHONPATH"] = target
        out = subprocess.run([sys.executable, "-B", "-c", "import fden; print(fden.__file__)"],
                             cwd=self.tmp, env=env, capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.strip().startswith(target), out.stdout)


if __name__ == "__main__":
    unittest.main()
