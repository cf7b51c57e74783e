/* bench_invnet: fit the built-in invertible networks (PCA, MLP autoencoder)
 * on the images of the training classes and report fit time and the PSNR
 * of decode(encode(x)) on test images of training and of unseen classes.
 *
 * usage: bench_invnet [train-images train-labels test-images test-labels
 *                      [first-test-class [epochs [latent [hidden]]]]]
 * Defaults: Debian's Fashion-MNIST (/usr/share/datasets/fashion-mnist),
 * classes 0-4 for fitting, latent 64, hidden 512, 10 epochs.
 * PSNR = 10 log10(1 / MSE) for pixels in [0, 1]: "mean" averages it per
 * image, "pooled" uses the MSE of all pixels. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fden/fden.h>

#define FMNIST "/usr/share/datasets/fashion-mnist/"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void log_fn(void *ud, int level, const char *fmt, va_list ap)
{
	(void)ud;
	(void)level;
	fputs("  ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "bench_invnet: %s: %s (%s)\n", what, fden_strerror(rc), fden_last_error());
	return 1;
}

/* Mean per-image PSNR and pooled PSNR of decode(encode(x)). */
static int psnr(struct fden_invnet *net, const struct fden_dataset *ds, double *mean,
		double *pooled)
{
	size_t n = fden_dataset_size(ds), d = fden_dataset_dim(ds);
	size_t k = fden_invnet_latent_dim(net);
	const float *x = fden_dataset_data(ds);
	float *z = malloc(n * k * sizeof(float)), *y = malloc(n * d * sizeof(float));
	double sum_psnr = 0, sse = 0;
	int rc = FDEN_E_NOMEM;

	if (!z || !y)
		goto out;
	if ((rc = fden_invnet_encode(net, x, n, z)) || (rc = fden_invnet_decode(net, z, n, y)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		double e = 0;
		for (size_t j = 0; j < d; j++) {
			double v = y[i * d + j] < 0 ? 0 : y[i * d + j] > 1 ? 1
									   : y[i * d + j];
			double t = v - x[i * d + j];
			e += t * t;
		}
		sse += e;
		e /= (double)d;
		sum_psnr += 10 * log10(1 / (e > 1e-10 ? e : 1e-10));
	}
	*mean = sum_psnr / (double)n;
	*pooled = 10 * log10((double)(n * d) / sse);
out:
	free(z);
	free(y);
	return rc;
}

static int report(const char *name, struct fden_invnet *net, const struct fden_dataset *seen,
		  const struct fden_dataset *unseen, int seen_is_fit, double secs)
{
	double m1, p1, m2, p2;
	int rc;

	if ((rc = psnr(net, seen, &m1, &p1)) || (rc = psnr(net, unseen, &m2, &p2)))
		return die("psnr", rc);
	printf("%-12s fit %7.1f s | PSNR %s, fitted classes: mean %.2f dB pooled %.2f dB | "
	       "unseen classes: mean %.2f dB pooled %.2f dB\n",
	       name, secs,
	       seen_is_fit ? "fit images" : "test images", m1, p1, m2, p2);
	return 0;
}

int main(int argc, char **argv)
{
	const char *tri = argc > 4 ? argv[1] : FMNIST "train-images-idx3-ubyte.gz";
	const char *trl = argc > 4 ? argv[2] : FMNIST "train-labels-idx1-ubyte.gz";
	const char *tei = argc > 4 ? argv[3] : FMNIST "t10k-images-idx3-ubyte.gz";
	const char *tel = argc > 4 ? argv[4] : FMNIST "t10k-labels-idx1-ubyte.gz";
	int first_test = argc > 5 ? atoi(argv[5]) : 5;
	size_t epochs = argc > 6 ? (size_t)atol(argv[6]) : 10;
	size_t latent = argc > 7 ? (size_t)atol(argv[7]) : 64;
	size_t hidden = argc > 8 ? (size_t)atol(argv[8]) : 512;
	struct fden_dataset *train = NULL, *test = NULL, *fit = NULL, *rest = NULL;
	struct fden_dataset *seen = NULL, *unseen = NULL;
	struct fden_invnet *pca = NULL, *ae = NULL;
	struct fden_ae_options opt;
	double t0;
	int rc;

	if (argc > 1 && argc < 5) {
		fprintf(stderr, "usage: %s [train-images train-labels test-images test-labels "
				"[first-test-class [epochs [latent [hidden]]]]]\n",
			argv[0]);
		return 2;
	}
	if ((rc = fden_dataset_load_idx(tri, trl, 1.0 / 255, &train)))
		return die(tri, rc);
	if ((rc = fden_dataset_load_idx(tei, tel, 1.0 / 255, &test)))
		return die(tei, rc);
	/* fit on the training split's classes < first_test; evaluate on the
	 * test split, fitted classes and unseen ones separately */
	if (fden_dataset_split(train, first_test, &fit, &rest) != FDEN_OK) {
		/* every training row is below first_test (make-glyphs.py's files) */
		fit = train;
		train = NULL;
	}
	if (fden_dataset_split(test, first_test, &seen, &unseen) != FDEN_OK) {
		/* the test file holds one side only: report it as unseen classes and
		 * the fitted images themselves as the "fitted classes" figure */
		seen = NULL;
		unseen = test;
		test = NULL;
	}
	printf("bench_invnet: fit on %zu images x %zu (classes < %d); test %zu fitted-class, "
	       "%zu unseen-class images; latent %zu\n",
	       fden_dataset_size(fit),
	       fden_dataset_dim(fit), first_test, seen ? fden_dataset_size(seen) : 0,
	       fden_dataset_size(unseen), latent);

	t0 = now_s();
	rc = fden_invnet_fit_pca(fden_dataset_data(fit), fden_dataset_size(fit),
				 fden_dataset_dim(fit), latent, 1, &pca);
	if (rc)
		return die("fit pca", rc);
	if (report("pca", pca, seen ? seen : fit, unseen, !seen, now_s() - t0))
		return 1;

	fden_ae_options_default(&opt);
	opt.epochs = epochs;
	opt.hidden = hidden;
	opt.log = log_fn;
	t0 = now_s();
	rc = fden_invnet_fit_autoencoder(fden_dataset_data(fit), fden_dataset_size(fit),
					 fden_dataset_dim(fit), latent, &opt, &ae);
	if (rc)
		return die("fit autoencoder", rc);
	if (report("autoencoder", ae, seen ? seen : fit, unseen, !seen, now_s() - t0))
		return 1;

	fden_invnet_free(pca);
	fden_invnet_free(ae);
	fden_dataset_free(train);
	fden_dataset_free(test);
	fden_dataset_free(fit);
	fden_dataset_free(rest);
	fden_dataset_free(seen);
	fden_dataset_free(unseen);
	return 0;
}
