/* Suite tools-e2e: the `fden` program end to end on a tiny synthetic IDX
 * set written by the test (12 classes of 8x8 images: a class prototype with
 * random brightness and noise). fit -> encode -> train -> resume -> eval ->
 * translate, plus the exit codes of data mismatches and of an interrupted
 * training. Models are a few dozen units wide and train for a few steps. */
#include <check.h>
#include <sys/stat.h>

#include "tools_util.h"
#include "../testutil.h"

/* A small model so that every step takes well under a millisecond. */
#define SMALL "--set", "dis_width=32", "--set", "ent_trunk_width=32", "--set", \
	      "ent_branch_width=16", "--set", "stat_width1=32", "--set", "stat_width2=16", "--set", \
	      "stat_width3=8"
#define TRAIN_DATA "--train-images", "train-x.idx", "--train-labels", "train-y.idx", "--split", "6"
#define TEST_DATA "--test-images", "test-x.idx", "--test-labels", "test-y.idx", "--split", "6"

static void data(void)
{
	if (!file_exists("train-x.idx")) {
		write_idx_set("train-x.idx", "train-y.idx", 12, 30, 8, 11);
		write_idx_set("test-x.idx", "test-y.idx", 12, 30, 8, 22);
	}
}

/* The data, and an 8-wide PCA host of them saved to `out`. */
static void fit_pca8(const char *out)
{
	data();
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "8", TRAIN_DATA, "--out", out,
			     "--quiet", NULL),
			 0);
}

static int count_lines(const char *name)
{
	char *b = read_all(name, NULL);
	int n = 0;
	if (!b)
		return -1;
	for (char *p = b; *p; p++)
		n += *p == '\n';
	free(b);
	return n;
}

/* The JSON without its "seconds" line (timing differs between runs). */
static char *json_without_time(const char *name)
{
	char *b = read_all(name, NULL);
	if (!b)
		return NULL;
	char *p = strstr(b, "\"seconds\"");
	if (p)
		*p = '\0';
	return b;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

START_TEST(pipeline)
{
	data();
	/* fit a PCA on the 6 training classes */
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "8", TRAIN_DATA, "--out", "net.fden",
			     "--quiet", NULL),
			 0);
	ck_assert(file_exists("net.fden"));
	/* encode: a float32 .npy of 360 x 8 and its labels */
	ck_assert_int_eq(run("encode", "--net", "net.fden", "--images", "test-x.idx", "--labels",
			     "test-y.idx", "--out", "z.npy", "--labels-out", "y.npy", NULL),
			 0);
	size_t len = 0;
	char *npy = read_all("z.npy", &len);
	ck_assert_ptr_nonnull(npy);
	ck_assert(len > 10 && !memcmp(npy, "\x93NUMPY", 6));
	ck_assert_ptr_nonnull(strstr(npy + 10, "(360, 8)"));
	free(npy);
	ck_assert(file_exists("y.npy"));
	/* train 20 steps with checkpoints and a CSV log; the schedule's horizon
	 * is the 30 steps of the whole run (else --steps 20 would fill in 20,
	 * which the resumed run keeps) */
	ck_assert_int_eq(run("train", "--net", "net.fden", TRAIN_DATA, SMALL, "--steps", "20",
			     "--set", "lr_decay_steps=30", "--checkpoint-every", "10", "--log-csv",
			     "log.csv", "--out", "model.fden", "--progress-every", "0.001", NULL),
			 0);
	ck_assert(file_exists("model.fden"));
	ck_assert_int_eq(count_lines("log.csv"), 21);
	/* off a terminal: plain progress lines, no carriage returns */
	ck_assert_ptr_nonnull(strstr(run_err, "fden: train: 20 steps"));
	ck_assert_ptr_null(strchr(run_err, '\r'));
	/* resume to 30: only 10 more steps are logged */
	ck_assert_int_eq(run("train", "--net", "net.fden", TRAIN_DATA, "--steps", "30", "--resume",
			     "--log-csv", "log.csv", "--out", "model.fden", NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(run_err, "resuming 'model.fden' at step 20"));
	ck_assert_int_eq(count_lines("log.csv"), 31);
	ck_assert_ptr_nonnull(strstr(run_err, "30 in total"));
	/* the same 30 steps without the interruption: the same model, bit for bit */
	ck_assert_int_eq(run("train", "--net", "net.fden", TRAIN_DATA, SMALL, "--steps", "30",
			     "--set", "lr_decay_steps=30", "--out", "straight.fden", "--quiet", NULL),
			 0);
	{
		size_t la = 0, lb = 0;
		char *ma = read_all("model.fden", &la), *mb = read_all("straight.fden", &lb);
		ck_assert_ptr_nonnull(ma);
		ck_assert_ptr_nonnull(mb);
		ck_assert_msg(la == lb && !memcmp(ma, mb, la),
			      "20 steps + resume to 30 differs from 30 straight steps");
		free(ma);
		free(mb);
	}
	/* already there: nothing to do, still success */
	ck_assert_int_eq(run("train", "--net", "net.fden", TRAIN_DATA, "--steps", "30", "--resume",
			     "--out", "model.fden", NULL),
			 0);
	/* evaluate: table, JSON, the 20-way task skipped (6 test classes) */
	ck_assert_int_eq(run("eval", "--model", "model.fden", "--net", "net.fden", TEST_DATA,
			     "--episodes", "40", "--queries", "5", "--json", "e1.json", NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(run_out, "f_ide, prototypical"));
	ck_assert_ptr_nonnull(strstr(run_out, "5-way 1-shot"));
	ck_assert_ptr_nonnull(strstr(run_out, "20-way 1-shot skipped"));
	ck_assert_ptr_nonnull(strstr(run_out, "decode fidelity"));
	char *j1 = json_without_time("e1.json");
	ck_assert_ptr_nonnull(j1);
	ck_assert_ptr_nonnull(strstr(j1, "\"f_sty\": {"));
	ck_assert_ptr_nonnull(strstr(j1, "\"n_classes\": 6"));
	ck_assert_ptr_nonnull(strstr(j1, "\"steps\": 30"));
	ck_assert_ptr_null(strstr(j1, "\"psnr_fden_vs_host\": null"));
	ck_assert_ptr_nonnull(strstr(j1, "\"predict_mismatch\": 0"));
	/* raw z separates these classes well above chance (20%) */
	char *zp = strstr(j1, "\"z_proto\": {\n");
	ck_assert_ptr_nonnull(zp);
	double acc = atof(strstr(zp, "\"mean\": ") + 8);
	ck_assert_msg(acc > 50, "raw z 5-way 1-shot %.1f%%", acc);
	/* swaps through the host: measured, and A's own round trip keeps A's
	 * class far above chance (the reference the swap is judged against) */
	ck_assert_ptr_nonnull(strstr(run_out, "through the host"));
	char *hr = strstr(j1, "\"host_reference\": ");
	ck_assert_ptr_nonnull(hr);
	ck_assert_msg(atof(hr + 18) > 50, "host round trip of A: %.1f%%", atof(hr + 18));
	hr = strstr(j1, "\"host\": ");
	ck_assert_ptr_nonnull(hr);
	ck_assert_msg(atof(hr + 8) >= 0 && atof(hr + 8) <= 100, "host retention %s", hr);
	/* the style judge: measured, and its reference, the class-mean analogy
	 * in z, carries B's style (its residual nearer B's in most pairs) */
	hr = strstr(j1, "\"residual_nearer_b\": ");
	ck_assert_ptr_nonnull(hr);
	ck_assert_msg(atof(hr + 21) >= 0 && atof(hr + 21) <= 100, "style judge %s", hr);
	hr = strstr(j1, "\"analogy_residual_nearer_b\": ");
	ck_assert_ptr_nonnull(hr);
	ck_assert_msg(atof(hr + 29) > 50, "analogy's residual nearer B's: %s", hr);
	/* same seed, same episodes, same numbers */
	ck_assert_int_eq(run("eval", "--model", "model.fden", "--net", "net.fden", TEST_DATA,
			     "--episodes", "40", "--queries", "5", "--json", "e2.json", "--quiet",
			     NULL),
			 0);
	char *j2 = json_without_time("e2.json");
	ck_assert_ptr_nonnull(j2);
	ck_assert_str_eq(j1, j2);
	free(j2);
	/* another seed, other episodes */
	ck_assert_int_eq(run("eval", "--model", "model.fden", "--net", "net.fden", TEST_DATA,
			     "--episodes", "40", "--queries", "5", "--seed", "7", "--json", "e3.json",
			     NULL),
			 0);
	j2 = json_without_time("e3.json");
	ck_assert_ptr_nonnull(j2);
	ck_assert_str_ne(j1, j2);
	free(j1);
	free(j2);
	/* evaluate from latents alone: no PSNR */
	ck_assert_int_eq(run("eval", "--model", "model.fden", "--images", "z.npy", "--labels",
			     "y.npy", "--split", "6", "--episodes", "20", "--tasks", "5x1", "--json",
			     "e4.json", NULL),
			 0);
	j1 = read_all("e4.json", NULL);
	ck_assert_ptr_nonnull(strstr(j1, "\"psnr_fden_vs_host\": null"));
	ck_assert_ptr_nonnull(strstr(j1, "\"host\": null"));
	free(j1);
	/* translation grids: 5 x 6 tiles of 8x8 with 1-pixel gaps at --zoom 1 */
	ck_assert_int_eq(run("translate", "--model", "model.fden", "--net", "net.fden", TEST_DATA,
			     "--pairs", "2", "--zoom", "1", "--out", "grids", NULL),
			 0);
	ck_assert(file_exists("grids/pair-000.png"));
	ck_assert(file_exists("grids/pair-001.png"));
	ck_assert(!file_exists("grids/pair-002.png"));
	ck_assert(file_exists("grids/README.txt"));
	unsigned char *png = (unsigned char *)read_all("grids/pair-001.png", &len);
	ck_assert_ptr_nonnull(png);
	ck_assert(len > 33 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8) && !memcmp(png + 12, "IHDR", 4));
	ck_assert_uint_eq(be32(png + 16), 5 * 9 + 1);
	ck_assert_uint_eq(be32(png + 20), 6 * 9 + 1);
	free(png);
	png = (unsigned char *)read_all("grids/swaps.png", &len);
	ck_assert_ptr_nonnull(png);
	ck_assert_uint_eq(be32(png + 16), 6 * 9 + 1);
	ck_assert_uint_eq(be32(png + 20), 2 * 9 + 1);
	free(png);
	/* by default zoomed to tiles of at least 84 pixels: 8 x 11 = 88, 2-pixel gaps */
	ck_assert_int_eq(run("translate", "--model", "model.fden", "--net", "net.fden", TEST_DATA,
			     "--pairs", "1", "--out", "gz", NULL),
			 0);
	png = (unsigned char *)read_all("gz/pair-000.png", &len);
	ck_assert_ptr_nonnull(png);
	ck_assert_uint_eq(be32(png + 16), 5 * (88 + 2) + 2);
	ck_assert_uint_eq(be32(png + 20), 6 * (88 + 2) + 2);
	free(png);
	/* non-square inputs need a shape */
	ck_assert_int_eq(run("translate", "--model", "model.fden", "--net", "net.fden", TEST_DATA,
			     "--width", "4", "--height", "4", "--out", "g2", NULL),
			 2);
}
END_TEST

/* The flow disentangler: f_ide and f_sty split Dim, and E inverts D exactly. */
START_TEST(flow_widths)
{
	data();
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "8", TRAIN_DATA, "--out", "nf.fden",
			     "--quiet", NULL),
			 0);
	ck_assert_int_eq(run("train", "--net", "nf.fden", TRAIN_DATA, "--set", "disentangler=flow",
			     "--set", "ide_dim=3", "--set", "flow_width=16", "--set", "flow_layers=2",
			     "--set", "stat_width1=16", "--set", "stat_width2=8", "--set",
			     "stat_width3=8", "--steps", "5", "--out", "mf.fden", "--quiet", NULL),
			 0);
	ck_assert_int_eq(run("eval", "--model", "mf.fden", "--net", "nf.fden", TEST_DATA,
			     "--episodes", "20", "--queries", "5", "--tasks", "5x1", "--json", "ef.json",
			     NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(run_out, "(f_ide 3, f_sty 5)"));
	char *j = read_all("ef.json", NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_nonnull(strstr(j, "\"ide_dim\": 3"));
	ck_assert_ptr_nonnull(strstr(j, "\"sty_dim\": 5"));
	double psnr = atof(strstr(j, "\"psnr_fden_vs_host\": ") + 21);
	ck_assert_msg(psnr > 60, "flow PSNR %.1f dB", psnr);
	free(j);
	ck_assert_int_eq(run("translate", "--model", "mf.fden", "--net", "nf.fden", TEST_DATA,
			     "--pairs", "1", "--out", "gf", NULL),
			 0);
	ck_assert(file_exists("gf/pair-000.png"));
}
END_TEST

/* The ablation harness: one row per configuration, same episodes for all,
 * JSON per configuration, usage errors exit 2. */
START_TEST(ablate_table)
{
	data();
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "8", TRAIN_DATA, "--out", "na.fden",
			     "--quiet", NULL),
			 0);
	ck_assert_int_eq(run("ablate", "--net", "na.fden", TRAIN_DATA, "--test-images", "test-x.idx",
			     "--test-labels", "test-y.idx", "--steps", "4", "--episodes", "20",
			     "--json-dir", "abl", "--quiet",
			     "--config", "mlp:dis_width=16,ent_trunk_width=16,ent_branch_width=8,"
					 "stat_width1=16,stat_width2=8,stat_width3=8",
			     "--config", "flow:disentangler=flow,ide_dim=4,flow_width=16,flow_layers=2,"
					 "stat_width1=16,stat_width2=8,stat_width3=8,sty_adv=1,xcorr=1,ways=3",
			     NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(run_out, "configuration"));
	ck_assert_ptr_nonnull(strstr(run_out, "\nmlp "));
	ck_assert_ptr_nonnull(strstr(run_out, "\nflow "));
	ck_assert(file_exists("abl/mlp.json") && file_exists("abl/flow.json"));
	char *j = read_all("abl/flow.json", NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_nonnull(strstr(j, "\"ide_dim\": 4"));
	ck_assert_ptr_nonnull(strstr(j, "\"steps\": 4"));
	free(j);
	/* no configuration, a malformed one, an unknown key */
	ck_assert_int_eq(run("ablate", "--net", "na.fden", TRAIN_DATA, NULL), 2);
	ck_assert_int_eq(run("ablate", "--net", "na.fden", TRAIN_DATA, "--config", "noname", NULL), 2);
	ck_assert_int_eq(run("ablate", "--net", "na.fden", TRAIN_DATA, "--test-images", "test-x.idx",
			     "--test-labels", "test-y.idx", "--steps", "2", "--config", "x:nokey=1",
			     NULL),
			 2);
}
END_TEST

START_TEST(from_latents)
{
	data();
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "6", TRAIN_DATA, "--out", "n6.fden",
			     "--quiet", NULL),
			 0);
	ck_assert_int_eq(run("encode", "--net", "n6.fden", "--images", "train-x.idx", "--labels",
			     "train-y.idx", "--out", "z6.npy", "--labels-out", "y6.npy", NULL),
			 0);
	ck_assert_int_eq(run("train", "--train-images", "z6.npy", "--train-labels", "y6.npy",
			     "--train-classes", "0-5", SMALL, "--steps", "5", "--out", "m6.fden",
			     "--quiet", NULL),
			 0);
	/* configuration errors: unknown key (2), out of range (2), a Dim the data do not have (5) */
	ck_assert_int_eq(run("train", "--train-images", "z6.npy", "--train-labels", "y6.npy",
			     "--train-classes", "0-5", "--set", "no_such_key=1", "--steps", "5",
			     "--out", "bad.fden", NULL),
			 2);
	ck_assert_ptr_nonnull(strstr(run_err, "unknown configuration key 'no_such_key'"));
	ck_assert_int_eq(run("train", "--train-images", "z6.npy", "--train-labels", "y6.npy",
			     "--train-classes", "0-5", "--set", "dropout=7", "--steps", "5", "--out",
			     "bad.fden", NULL),
			 2);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: train: setting dropout=7: "));
	ck_assert_int_eq(run("train", "--train-images", "z6.npy", "--train-labels", "y6.npy",
			     "--train-classes", "0-5", "--set", "dim=5", "--steps", "5", "--out",
			     "bad.fden", NULL),
			 5);
	ck_assert_int_eq(run("train", "--train-images", "z6.npy", "--train-labels", "y6.npy",
			     "--train-classes", "0-5", "--preset", "nonsense", "--steps", "5", "--out",
			     "bad.fden", NULL),
			 2);
	/* episodes wider than the training classes */
	ck_assert_int_eq(run("train", "--train-images", "z6.npy", "--train-labels", "y6.npy",
			     "--train-classes", "0-5", "--ways", "7", "--steps", "5", "--out",
			     "bad.fden", NULL),
			 5);
	ck_assert(!file_exists("bad.fden"));
	/* widths that do not match: Dim 6 model, Dim 8 test latents */
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "8", TRAIN_DATA, "--out",
			     "n8.fden", "--quiet", NULL),
			 0);
	ck_assert_int_eq(run("eval", "--model", "m6.fden", "--net", "n8.fden", TEST_DATA,
			     "--episodes", "5", NULL),
			 5);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: eval: "));
	ck_assert_int_eq(run("translate", "--model", "m6.fden", "--net", "n8.fden", TEST_DATA,
			     "--out", "g", NULL),
			 5);
	/* a truncated model file */
	size_t len;
	char *m = read_all("m6.fden", &len);
	ck_assert_ptr_nonnull(m);
	write_file("cut.fden", m, len / 2);
	free(m);
	ck_assert_int_eq(run("eval", "--model", "cut.fden", TEST_DATA, NULL), 3);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: eval: loading model 'cut.fden': "));
}
END_TEST

/* The number after "KEY": in a JSON text (NaN when absent or null). */
static double json_number(const char *j, const char *key)
{
	char want[64];
	snprintf(want, sizeof want, "\"%s\": ", key);
	const char *p = strstr(j, want);
	if (!p || !strncmp(p + strlen(want), "null", 4))
		return NAN;
	return atof(p + strlen(want));
}

/* The default `fden CMD --help` shows for --NAME (NaN when none). */
static double help_default(const char *cmd, const char *name)
{
	char want[64];
	if (run(cmd, "--help", NULL) != 0)
		return NAN;
	snprintf(want, sizeof want, "\n  --%s ", name);
	const char *l = strstr(run_out, want), *d;
	if (!l || !(d = strstr(l, "default: ")) || d > strchr(l + 1, '\n'))
		return NAN;
	return atof(d + 9);
}

/* --json FILE and --json - from fit, train and eval: the same object, on
 * standard output alone with '-' (no file named '-'); and the run's episode
 * shape and seed are the defaults `--help` prints. */
START_TEST(json_summaries)
{
	data();
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "8", TRAIN_DATA, "--out", "nj.fden",
			     "--json", "-", NULL),
			 0);
	ck_assert_msg(run_out[0] == '{', "fit --json -: %.80s", run_out);
	ck_assert_ptr_nonnull(strstr(run_out, "\"command\": \"fit\""));
	ck_assert(json_number(run_out, "latent") == 8);
	ck_assert(json_number(run_out, "rows") == 6 * 30);
	ck_assert(json_number(run_out, "input_dim") == 64);
	double mse = json_number(run_out, "train_mse");
	ck_assert_msg(isfinite(mse) && mse > 0, "train_mse %g", mse);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: fit: fitted")); /* info lines stay on stderr */
	char *fit_out = strdup(run_out);
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "8", TRAIN_DATA, "--out", "nj.fden",
			     "--json", "fit.json", "--quiet", NULL),
			 0);
	ck_assert_str_eq(run_out, "");
	char *fit_file = json_without_time("fit.json");
	ck_assert_ptr_nonnull(fit_file);
	*strstr(fit_out, "\"seconds\"") = '\0';
	ck_assert_str_eq(fit_out, fit_file);
	free(fit_out);
	free(fit_file);

	ck_assert_int_eq(run("train", "--net", "nj.fden", TRAIN_DATA, SMALL, "--steps", "3", "--out",
			     "mj.fden", "--json", "-", "--quiet", NULL),
			 0);
	ck_assert_msg(run_out[0] == '{', "train --json -: %.80s", run_out);
	char *tr = strdup(run_out);
	ck_assert_ptr_nonnull(strstr(tr, "\"command\": \"train\""));
	ck_assert(json_number(tr, "steps_run") == 3);
	ck_assert(json_number(tr, "steps_total") == 3);
	ck_assert(json_number(tr, "dim") == 8);
	ck_assert(json_number(tr, "ways") == 6); /* auto: every class when fewer than 20 */
	ck_assert(isfinite(json_number(tr, "loss")));
	static const char *const shape[] = { "shots", "queries", "episodes", "seed", "threads" };
	for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++) {
		double h = help_default("train", shape[i]);
		ck_assert_msg(isfinite(h) && h == json_number(tr, shape[i]),
			      "--%s: help says %g, the run used %g", shape[i], h,
			      json_number(tr, shape[i]));
	}
	free(tr);
	/* resumed with nothing to do: a summary still, 0 steps */
	ck_assert_int_eq(run("train", "--net", "nj.fden", TRAIN_DATA, "--steps", "3", "--resume",
			     "--out", "mj.fden", "--json", "t2.json", "--quiet", NULL),
			 0);
	char *t2 = read_all("t2.json", NULL);
	ck_assert_ptr_nonnull(t2);
	ck_assert(json_number(t2, "steps_run") == 0);
	ck_assert(json_number(t2, "steps_total") == 3);
	ck_assert_ptr_nonnull(strstr(t2, "\"resumed\": true"));
	free(t2);

	ck_assert_int_eq(run("eval", "--model", "mj.fden", "--net", "nj.fden", TEST_DATA,
			     "--episodes", "10", "--tasks", "5x1", "--json", "-", NULL),
			 0);
	ck_assert_msg(run_out[0] == '{', "eval --json -: %.80s", run_out);
	ck_assert_ptr_null(strstr(run_out, "f_ide, prototypical")); /* the table: stderr */
	ck_assert_ptr_nonnull(strstr(run_err, "f_ide, prototypical"));
	char *ev = strdup(run_out);
	*strstr(ev, "\"seconds\"") = '\0';
	ck_assert_int_eq(run("eval", "--model", "mj.fden", "--net", "nj.fden", TEST_DATA,
			     "--episodes", "10", "--tasks", "5x1", "--json", "ev.json", NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(run_out, "f_ide, prototypical"));
	char *ev_file = json_without_time("ev.json");
	ck_assert_ptr_nonnull(ev_file);
	ck_assert_str_eq(ev, ev_file);
	free(ev);
	free(ev_file);
	ck_assert(!file_exists("-"));
}
END_TEST

START_TEST(interrupt_saves)
{
	data();
	ck_assert_int_eq(run("fit", "--kind", "pca", "--latent", "8", TRAIN_DATA, "--out",
			     "ni.fden", "--quiet", NULL),
			 0);
	/* a long budget, interrupted after a second: checkpoint, status 130 */
	int rc = run_signal(SIGINT, 1.5, "train", "--net", "ni.fden", TRAIN_DATA, SMALL, "--minutes",
			    "5", "--checkpoint-every", "0", "--out", "mi.fden", NULL);
	ck_assert_int_eq(rc, 130);
	ck_assert_ptr_nonnull(strstr(run_err, "interrupted by signal 2"));
	ck_assert(file_exists("mi.fden"));
	/* the saved model is whole and resumable */
	ck_assert_int_eq(run("eval", "--model", "mi.fden", "--net", "ni.fden", TEST_DATA,
			     "--episodes", "5", "--tasks", "5x1", "--quiet", NULL),
			 0);
	rc = run_signal(SIGTERM, 1.0, "train", "--net", "ni.fden", TRAIN_DATA, "--minutes", "5",
			"--resume", "--out", "mi.fden", NULL);
	ck_assert_int_eq(rc, 130);
	ck_assert_ptr_nonnull(strstr(run_err, "resuming 'mi.fden'"));
}
END_TEST

/* fden demo on a directory laid out as the demo expects: the report and
 * its pictures, the summary's comparison with the strongest raw-z row and
 * the warning for few training classes, the host-fit protocol named. */
START_TEST(demo_report)
{
	char p[600];
	snprintf(p, sizeof p, "%s/dd", work_dir);
	mkdir(p, 0755);
	/* plain IDX under the .gz names: the loader reads both */
	write_idx_set("dd/train-images-idx3-ubyte.gz", "dd/train-labels-idx1-ubyte.gz", 12, 30, 8, 11);
	write_idx_set("dd/test-images-idx3-ubyte.gz", "dd/test-labels-idx1-ubyte.gz", 12, 30, 8, 22);
	ck_assert_int_eq(run("demo", "--data", "dd", "--split", "6", "--kind", "pca", "--latent", "8",
			     SMALL, "--steps", "30", "--minutes", "1", "--eval-episodes", "20",
			     "--quick", "--pairs", "8", "--tsne", "off", "--host-fit", "all-train",
			     "--out", "do", NULL),
			 0);
	ck_assert(file_exists("do/report.html"));
	/* --quick halves the grids only when --pairs is not given */
	ck_assert(file_exists("do/grids/pair-007.png")); /* pair-000 .. 007 */
	ck_assert(!file_exists("do/grids/pair-008.png"));
	ck_assert(file_exists("do/curves.png"));
	ck_assert(file_exists("do/grids/swaps.png"));
	ck_assert(!file_exists("do/tsne.png"));
	ck_assert_ptr_nonnull(strstr(run_out, "against the strongest raw-z baseline"));
	ck_assert_ptr_nonnull(strstr(run_out, "NOTE: Only 6 training classes"));
	ck_assert_ptr_nonnull(strstr(run_out, "--host-fit all-train"));
	ck_assert_ptr_nonnull(strstr(run_out, "every training-split image without labels"));
	ck_assert_ptr_nonnull(strstr(run_out, "30 steps"));
	char *h = read_all("do/report.html", NULL);
	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_nonnull(strstr(h, "<td>raw z, SimpleShot</td>"));
	ck_assert_ptr_nonnull(strstr(h, "src=\"grids/pair-001.png\""));
	ck_assert_ptr_nonnull(strstr(h, "src=\"curves.png\""));
	ck_assert_ptr_nonnull(strstr(h, "Not made: --tsne off"));
	ck_assert_ptr_nonnull(strstr(h, "too few"));
	free(h);
	char *sum = read_all("do/summary.txt", NULL);
	ck_assert_ptr_nonnull(sum);
	ck_assert_ptr_nonnull(strstr(sum, "5-way 1-shot: f_ide"));
	free(sum);
	/* a bad protocol name is a usage error */
	ck_assert_int_eq(run("demo", "--data", "dd", "--host-fit", "everything", "--out", "do2", NULL),
			 2);
}
END_TEST

/* The schedule's horizon (FDEN_P_LR_DECAY_STEPS) of the saved model. */
static double saved_horizon(const char *name)
{
	char path[600];
	struct fden_model *m = NULL;
	struct fden_config *c = NULL;
	double v = NAN;

	snprintf(path, sizeof path, "%s/%s", work_dir, name);
	if (!fden_model_load(path, NULL, &m) && !fden_model_config(m, &c))
		ck_assert_int_eq(fden_config_get(c, FDEN_P_LR_DECAY_STEPS, &v), FDEN_OK);
	fden_config_free(c);
	fden_model_free(m);
	return v;
}

/* Training by time: the default preset's cosine schedule gets a horizon
 * after the warm-up (the steps the budget allows), saved with the model,
 * and the last steps run below the start rate; --resume keeps the saved
 * horizon; the paper preset (constant rate) gets none. */
START_TEST(time_budget_horizon)
{
	fit_pca8("nh.fden");
	ck_assert_int_eq(run("train", "--net", "nh.fden", TRAIN_DATA, SMALL, "--minutes", "0.15",
			     "--out", "mh.fden", "--json", "-", "--log-csv", "h.csv", NULL),
			 0);
	char *tr = strdup(run_out);
	double steps = json_number(tr, "steps_total"), horizon = json_number(tr, "lr_decay_steps");
	double lr = json_number(tr, "lr");
	ck_assert_msg(steps >= 60, "only %g steps in 9 s", steps);
	ck_assert_msg(horizon > 50, "horizon %g after %g steps", horizon, steps);
	ck_assert_ptr_nonnull(strstr(run_err, "learning-rate schedule over "));
	ck_assert(saved_horizon("mh.fden") == horizon);
	/* the default lr 1e-3 at the start, lower at the end (floor 1e-4) */
	ck_assert_msg(lr < 0.9e-3 && lr >= 1e-4 * (1 - 1e-6), "last lr %g (horizon %g, %g steps)",
		      lr, horizon, steps);
	char *csv = read_all("h.csv", NULL);
	ck_assert_ptr_nonnull(csv);
	ck_assert_ptr_nonnull(strstr(csv, ",lr\n"));
	ck_assert_ptr_nonnull(strstr(csv, ",0.001\n2,")); /* step 1 at the full rate */
	free(csv);
	free(tr);
	/* resumed: the saved horizon stays */
	ck_assert_int_eq(run("train", "--net", "nh.fden", TRAIN_DATA, "--minutes", "0.02",
			     "--resume", "--out", "mh.fden", "--json", "-", "--quiet", NULL),
			 0);
	ck_assert(json_number(run_out, "lr_decay_steps") == horizon);
	ck_assert(saved_horizon("mh.fden") == horizon);
	/* the paper preset: constant rate, no horizon */
	ck_assert_int_eq(run("train", "--net", "nh.fden", TRAIN_DATA, SMALL, "--preset", "paper",
			     "--minutes", "0.02", "--out", "ph.fden", "--json", "-", "--quiet", NULL),
			 0);
	ck_assert(json_number(run_out, "lr_decay_steps") == 0);
	ck_assert(json_number(run_out, "lr") == 1e-4);
	ck_assert(saved_horizon("ph.fden") == 0);
}
END_TEST

/* --val-classes: held-out classes scored every --val-every steps, the best
 * model kept and saved, and --val-patience stopping; with lr 0 the model
 * never changes, so the second score is no better and patience 1 stops. */
START_TEST(validation)
{
	fit_pca8("nv.fden");
	ck_assert_int_eq(run("train", "--net", "nv.fden", TRAIN_DATA, SMALL, "--steps", "20",
			     "--val-classes", "2", "--val-every", "5", "--val-patience", "0", "--out",
			     "mv.fden", "--json", "-", NULL),
			 0);
	char *tr = strdup(run_out);
	ck_assert_ptr_nonnull(strstr(tr, "\"validation\": {"));
	ck_assert(json_number(tr, "classes") == 2);
	ck_assert(json_number(tr, "rows") == 4 * 30); /* the 4 classes left train */
	ck_assert(json_number(tr, "ways") == 4);
	ck_assert(json_number(tr, "scores") == 4); /* steps 5, 10, 15, 20 */
	double best = json_number(tr, "best_step"), acc = json_number(tr, "best_accuracy");
	ck_assert_msg(best == 5 || best == 10 || best == 15 || best == 20, "best step %g", best);
	ck_assert_msg(acc > 0.5 && acc <= 1, "best validation accuracy %g (2-way)", acc);
	ck_assert(json_number(tr, "last_step") == 20);
	ck_assert(json_number(tr, "last_accuracy") <= acc);
	ck_assert(json_number(tr, "steps_total") == best); /* the best model is the one kept */
	ck_assert_ptr_nonnull(strstr(tr, "\"stopped_early\": false"));
	ck_assert_ptr_nonnull(strstr(run_err, "2 classes held out for validation"));
	ck_assert_ptr_nonnull(strstr(run_err, "step 5: validation "));
	free(tr);
	/* the saved file is the best model: resuming to its own step count does nothing */
	char steps[32];
	snprintf(steps, sizeof steps, "%d", (int)best);
	ck_assert_int_eq(run("train", "--net", "nv.fden", TRAIN_DATA, "--steps", steps, "--resume",
			     "--out", "mv.fden", "--json", "-", "--quiet", NULL),
			 0);
	ck_assert(json_number(run_out, "steps_total") == best);

	/* lr 0: equal scores, patience 1 stops at the second, the first is restored */
	ck_assert_int_eq(run("train", "--net", "nv.fden", TRAIN_DATA, SMALL, "--set", "lr=0",
			     "--steps", "50", "--val-classes", "2", "--val-every", "5",
			     "--val-patience", "1", "--out", "mv0.fden", "--json", "-", NULL),
			 0);
	tr = strdup(run_out);
	ck_assert(json_number(tr, "scores") == 2);
	ck_assert(json_number(tr, "best_step") == 5);
	ck_assert(json_number(tr, "last_step") == 10);
	ck_assert(json_number(tr, "steps_run") == 10);
	ck_assert(json_number(tr, "steps_total") == 5);
	ck_assert(json_number(tr, "best_accuracy") == json_number(tr, "last_accuracy"));
	ck_assert_ptr_nonnull(strstr(tr, "\"stopped_early\": true"));
	ck_assert_ptr_nonnull(strstr(tr, "\"restored_best\": true"));
	ck_assert_ptr_nonnull(strstr(run_err, "kept the model of step 5"));
	free(tr);

	/* auto: fewer than 200 classes, none held out */
	ck_assert_int_eq(run("train", "--net", "nv.fden", TRAIN_DATA, SMALL, "--steps", "2",
			     "--out", "mva.fden", "--json", "-", "--quiet", NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(run_out, "\"validation\": null"));
	ck_assert(json_number(run_out, "rows") == 6 * 30);
	/* too many held out (2 must stay), and values that are not counts */
	ck_assert_int_eq(run("train", "--net", "nv.fden", TRAIN_DATA, SMALL, "--steps", "2",
			     "--val-classes", "5", "--out", "mvb.fden", NULL),
			 5);
	ck_assert_ptr_nonnull(strstr(run_err, "--val-classes 5: need at least 2 held-out classes "
					      "and 2 left to train on; the training data have 6"));
	ck_assert_int_eq(run("train", "--net", "nv.fden", TRAIN_DATA, "--steps", "2",
			     "--val-classes", "-3", "--out", "mvb.fden", NULL),
			 2);
	ck_assert_int_eq(run("train", "--net", "nv.fden", TRAIN_DATA, "--steps", "2",
			     "--val-classes", "many", "--out", "mvb.fden", NULL),
			 2);
	ck_assert_int_eq(run("train", "--net", "nv.fden", TRAIN_DATA, "--steps", "2",
			     "--val-every", "0", "--out", "mvb.fden", NULL),
			 2);
}
END_TEST

/* fit --kind conv on the 8x8 images: the JSON summary, a network encode
 * reads back, and the conv options' checks */
START_TEST(fit_conv)
{
	data();
	ck_assert_int_eq(run("fit", "--kind", "conv", "--latent", "6", "--channels", "4",
			     "--epochs", "3", "--batch", "16", "--shape", "8x8x1", "--loss", "bce",
			     TRAIN_DATA, "--out", "nc.fden", "--json", "-", NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(run_out, "\"kind\": \"conv\""));
	ck_assert(json_number(run_out, "epochs") == 3);
	ck_assert(json_number(run_out, "latent") == 6);
	double mse = json_number(run_out, "train_mse");
	ck_assert_msg(isfinite(mse) && mse > 0 && mse < 0.25, "train_mse %g", mse);
	ck_assert_ptr_nonnull(strstr(run_err, "fden: conv: conv autoencoder epoch 3/3"));
	ck_assert_int_eq(run("encode", "--net", "nc.fden", "--images", "test-x.idx", "--out",
			     "zc.npy", "--quiet", NULL),
			 0);
	ck_assert_int_eq(run("fit", "--kind", "conv", "--shape", "8x9", TRAIN_DATA, "--out",
			     "nc2.fden", "--quiet", NULL),
			 2);
	ck_assert_int_eq(run("fit", "--kind", "conv", "--shape", "8x8x1x", TRAIN_DATA, "--out",
			     "nc2.fden", "--quiet", NULL),
			 2);
	ck_assert_int_eq(run("fit", "--kind", "conv", "--loss", "l1", TRAIN_DATA, "--out",
			     "nc2.fden", "--quiet", NULL),
			 2);
	ck_assert_int_eq(run("fit", "--kind", "cnn", TRAIN_DATA, "--out", "nc2.fden", "--quiet",
			     NULL),
			 2);
}
END_TEST

int main(int argc, char **argv)
{
	if (tools_init(argc, argv))
		return 1;
	Suite *s = suite_create("tools-e2e");
	TCase *tc = tcase_create("e2e");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, pipeline);
	tcase_add_test(tc, flow_widths);
	tcase_add_test(tc, ablate_table);
	tcase_add_test(tc, from_latents);
	tcase_add_test(tc, demo_report);
	tcase_add_test(tc, interrupt_saves);
	tcase_add_test(tc, json_summaries);
	tcase_add_test(tc, fit_conv);
	tcase_add_test(tc, time_budget_horizon);
	tcase_add_test(tc, validation);
	suite_add_tcase(s, tc);
	int failed = tu_check_failed(s, NULL);
	rm_tree(work_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
