/* PCA as an invertible network, fitted by randomized SVD (Halko, Martinsson
 * and Tropp 2011) with BLIS products:
 *   Xc = X - 1 mean^T                  (centred block by block, never whole)
 *   Y = Xc Omega, Omega d x l normal    (l = k + 10 oversampling columns)
 *   2 power iterations: Q = orth(Y); Z = orth(Xc^T Q); Y = Xc Z
 *   B^T = Xc^T Q (d x l);  B B^T = U diag(w) U^T  (Jacobi, l x l, double)
 *   V_k = B^T U_k diag(w_k)^-1/2       (top-k right singular vectors of Xc)
 * encode z = (x - mean) V_k = x V_k - mean^T V_k;  decode x = z V_k^T + mean. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "invnet/builtin.h"
#include "io/ckpt.h"
#include "kernels/gemm.h"
#include "kernels/rng.h"

#define PCA_OVERSAMPLE 10
#define PCA_POWER_ITERS 2
#define PCA_BLOCK 1024      /* rows centred at a time */
#define PCA_CHUNK (1 << 20) /* rows per gemm call in encode/decode (int sizes) */

struct fd_pca {
	size_t d, k;
	float *mean; /* d */
	float *V;    /* d x k, orthonormal columns */
	float *mV;   /* k: mean^T V */
	float *var;  /* k: explained variance w_j / (n - 1) */
};

static void pca_free(struct fd_pca *p)
{
	if (!p)
		return;
	fd_free(NULL, p->mean);
	fd_free(NULL, p->V);
	fd_free(NULL, p->mV);
	fd_free(NULL, p->var);
	fd_free(NULL, p);
}

static void pca_destroy(void *ud)
{
	pca_free(ud);
}

static int pca_alloc(size_t d, size_t k, struct fd_pca **out)
{
	struct fd_pca *p = fd_calloc(NULL, 1, sizeof *p);

	if (!p)
		return -1;
	p->d = d;
	p->k = k;
	p->mean = fd_calloc(NULL, d, sizeof(float));
	p->V = fd_calloc(NULL, d * k, sizeof(float));
	p->mV = fd_calloc(NULL, k, sizeof(float));
	p->var = fd_calloc(NULL, k, sizeof(float));
	if (!p->mean || !p->V || !p->mV || !p->var) {
		pca_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* mV = mean^T V (double accumulation). */
static void pca_offsets(struct fd_pca *p)
{
	for (size_t j = 0; j < p->k; j++) {
		double s = 0;
		for (size_t i = 0; i < p->d; i++)
			s += (double)p->mean[i] * p->V[i * p->k + j];
		p->mV[j] = (float)s;
	}
}

static int pca_encode(void *ud, const float *x, size_t n, float *z)
{
	const struct fd_pca *p = ud;
	int d = (int)p->d, k = (int)p->k;

	for (size_t r = 0; r < n; r += PCA_CHUNK) {
		int m = (int)(n - r < PCA_CHUNK ? n - r : PCA_CHUNK);
		float *zr = z + r * p->k;
		/* z = x V */
		fd_gemm(0, 0, m, k, d, 1.0f, x + r * p->d, d, p->V, k, 0.0f, zr, k, 1);
		/* z -= mean^T V */
		for (int i = 0; i < m; i++)
			for (int j = 0; j < k; j++)
				zr[(size_t)i * k + j] -= p->mV[j];
	}
	return 0;
}

static int pca_decode(void *ud, const float *z, size_t n, float *x)
{
	const struct fd_pca *p = ud;
	int d = (int)p->d, k = (int)p->k;

	for (size_t r = 0; r < n; r += PCA_CHUNK) {
		int m = (int)(n - r < PCA_CHUNK ? n - r : PCA_CHUNK);
		float *xr = x + r * p->d;
		/* x = mean, then x += z V^T */
		for (int i = 0; i < m; i++)
			memcpy(xr + (size_t)i * d, p->mean, p->d * sizeof(float));
		fd_gemm(0, 1, m, d, k, 1.0f, z + r * p->k, k, p->V, k, 1.0f, xr, d, 1);
	}
	return 0;
}

static const struct fden_invnet_ops pca_ops = {
	.struct_size = sizeof(struct fden_invnet_ops),
	.version = FDEN_INVNET_OPS_VERSION,
	.encode = pca_encode,
	.decode = pca_decode,
	.encode_dist = NULL,
	.destroy = pca_destroy,
};

int fd_jacobi_eigh(double *A, int n, double *w, double *V, int max_sweeps)
{
	int sweep;

	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			V[i * n + j] = i == j;
	for (sweep = 1; sweep <= max_sweeps; sweep++) {
		double off = 0, diag = 0;

		for (int i = 0; i < n; i++) {
			diag += A[i * n + i] * A[i * n + i];
			for (int j = i + 1; j < n; j++)
				off += A[i * n + j] * A[i * n + j];
		}
		if (off <= 1e-30 * diag || off == 0)
			break;
		for (int p = 0; p < n - 1; p++) {
			for (int q = p + 1; q < n; q++) {
				double apq = A[p * n + q], theta, t, c, s;

				if (fabs(apq) < 1e-300)
					continue;
				/* A' = P^T A P zeroes a_pq: theta = (a_qq - a_pp) / 2 a_pq,
				 * t = sgn(theta) / (|theta| + sqrt(theta^2 + 1)) */
				theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
				t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
				c = 1 / sqrt(t * t + 1);
				s = t * c;
				for (int r = 0; r < n; r++) { /* columns: A P */
					double arp = A[r * n + p], arq = A[r * n + q];
					A[r * n + p] = c * arp - s * arq;
					A[r * n + q] = s * arp + c * arq;
				}
				for (int r = 0; r < n; r++) { /* rows: P^T (A P) */
					double apr = A[p * n + r], aqr = A[q * n + r];
					A[p * n + r] = c * apr - s * aqr;
					A[q * n + r] = s * apr + c * aqr;
				}
				A[p * n + q] = A[q * n + p] = 0;
				for (int r = 0; r < n; r++) { /* V P */
					double vrp = V[r * n + p], vrq = V[r * n + q];
					V[r * n + p] = c * vrp - s * vrq;
					V[r * n + q] = s * vrp + c * vrq;
				}
			}
		}
	}
	for (int i = 0; i < n; i++)
		w[i] = A[i * n + i];
	/* selection sort, descending, swapping eigenvector columns along */
	for (int i = 0; i < n - 1; i++) {
		int m = i;
		for (int j = i + 1; j < n; j++)
			if (w[j] > w[m])
				m = j;
		if (m != i) {
			double t = w[i];
			w[i] = w[m];
			w[m] = t;
			for (int r = 0; r < n; r++) {
				t = V[r * n + i];
				V[r * n + i] = V[r * n + m];
				V[r * n + m] = t;
			}
		}
	}
	return sweep;
}

/* Orthonormalise the columns of C (rows x cols, column-major: column j at
 * C + j*rows) by modified Gram-Schmidt, twice ("twice is enough"). A column
 * that vanishes (rank deficiency) is replaced by a random one and
 * orthogonalised again, so the result always has orthonormal columns. */
static void mgs(double *C, size_t rows, size_t cols, struct fd_rng *rng)
{
	for (size_t j = 0; j < cols; j++) {
		double *c = C + j * rows;
		double n0 = 0, nrm = 0;

		for (size_t i = 0; i < rows; i++)
			n0 += c[i] * c[i];
		n0 = sqrt(n0);
		for (int tries = 0; tries < 8; tries++) {
			for (int pass = 0; pass < 2; pass++) {
				for (size_t q = 0; q < j; q++) {
					const double *b = C + q * rows;
					double dot = 0;
					for (size_t i = 0; i < rows; i++)
						dot += b[i] * c[i];
					for (size_t i = 0; i < rows; i++)
						c[i] -= dot * b[i]; /* c -= (b.c) b */
				}
			}
			nrm = 0;
			for (size_t i = 0; i < rows; i++)
				nrm += c[i] * c[i];
			nrm = sqrt(nrm);
			if (nrm > 1e-10 * n0 && nrm > 1e-300)
				break;
			for (size_t i = 0; i < rows; i++) /* degenerate: redraw */
				c[i] = fd_rng_normal(rng);
			n0 = sqrt((double)rows);
		}
		for (size_t i = 0; i < rows; i++)
			c[i] = nrm > 0 ? c[i] / nrm : 0;
	}
}

/* Row-major float rows x cols <-> column-major double, orthonormalised. */
static void orth_f(float *A, size_t rows, size_t cols, double *tmp, struct fd_rng *rng)
{
	for (size_t i = 0; i < rows; i++)
		for (size_t j = 0; j < cols; j++)
			tmp[j * rows + i] = A[i * cols + j];
	mgs(tmp, rows, cols, rng);
	for (size_t i = 0; i < rows; i++)
		for (size_t j = 0; j < cols; j++)
			A[i * cols + j] = (float)tmp[j * rows + i];
}

struct fit_ctx {
	const float *x;
	size_t n, d;
	const float *mean;
	float *buf; /* PCA_BLOCK x d centred rows */
};

/* Centre rows [r, r+m) of X into ctx->buf. */
static void centre_block(struct fit_ctx *c, size_t r, int m)
{
	for (int i = 0; i < m; i++) {
		const float *xi = c->x + (r + i) * c->d;
		float *bi = c->buf + (size_t)i * c->d;
		for (size_t j = 0; j < c->d; j++)
			bi[j] = xi[j] - c->mean[j];
	}
}

/* Y (n x l) = Xc M (M d x l). */
static void xc_mul(struct fit_ctx *c, const float *M, int l, float *Y)
{
	for (size_t r = 0; r < c->n; r += PCA_BLOCK) {
		int m = (int)(c->n - r < PCA_BLOCK ? c->n - r : PCA_BLOCK);
		centre_block(c, r, m);
		fd_gemm(0, 0, m, l, (int)c->d, 1.0f, c->buf, (int)c->d, M, l, 0.0f,
			Y + r * l, l, 1);
	}
}

/* Z (d x l) = Xc^T Y (Y n x l). */
static void xct_mul(struct fit_ctx *c, const float *Y, int l, float *Z)
{
	memset(Z, 0, c->d * l * sizeof(float));
	for (size_t r = 0; r < c->n; r += PCA_BLOCK) {
		int m = (int)(c->n - r < PCA_BLOCK ? c->n - r : PCA_BLOCK);
		centre_block(c, r, m);
		fd_gemm(1, 0, (int)c->d, l, m, 1.0f, c->buf, (int)c->d, Y + r * l, l, 1.0f,
			Z, l, 1);
	}
}

static int check_finite(const float *x, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (!isfinite(x[i]))
			return -1;
	return 0;
}

FDEN_EXPORT int fden_invnet_fit_pca(const float *x, size_t n, size_t input_dim,
				    size_t latent_dim, uint64_t seed, struct fden_invnet **out)
{
	const char *fn = "fden_invnet_fit_pca";
	size_t d = input_dim, k = latent_dim, l, total, tmp_rows;
	struct fd_pca *p = NULL;
	struct fd_rng rng;
	struct fit_ctx ctx = { 0 };
	float *omega = NULL, *Y = NULL, *Z = NULL;
	double *tmp = NULL, *G = NULL, *U = NULL, *w = NULL, *Vd = NULL, *acc = NULL;
	int rc = FDEN_E_NOMEM;

	if (!x || !out)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: %s is NULL", fn, !x ? "x" : "out");
	if (n < 2)
		return fd_err_set(NULL, FDEN_E_INVALID, "%s: n = %zu, need at least 2 rows", fn, n);
	if (d == 0 || k == 0 || k > d)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "%s: latent_dim %zu must be in [1, input_dim = %zu]", fn, k, d);
	if (d > 65536 || n > (size_t)INT_MAX)
		return fd_err_set(NULL, FDEN_E_INVALID,
				  "%s: input_dim %zu (max 65536) or n %zu too large", fn, d, n);
	if (fd_mul_overflow(n, d, &total) || fd_mul_overflow(total, sizeof(float), &total))
		return fd_err_set(NULL, FDEN_E_OVERFLOW, "%s: n x input_dim overflows", fn);
	if (check_finite(x, n * d))
		return fd_err_set(NULL, FDEN_E_NONFINITE, "%s: x holds NaN or infinity", fn);

	l = k + PCA_OVERSAMPLE < d ? k + PCA_OVERSAMPLE : d;
	tmp_rows = n > d ? n : d;
	if (pca_alloc(d, k, &p))
		goto fail;
	omega = fd_malloc(NULL, d * l * sizeof(float));
	Z = fd_malloc(NULL, d * l * sizeof(float));
	Y = fd_malloc(NULL, n * l * sizeof(float));
	ctx.buf = fd_malloc(NULL, (size_t)PCA_BLOCK * d * sizeof(float));
	tmp = fd_malloc(NULL, tmp_rows * l * sizeof(double));
	G = fd_malloc(NULL, l * l * sizeof(double));
	U = fd_malloc(NULL, l * l * sizeof(double));
	w = fd_malloc(NULL, l * sizeof(double));
	Vd = fd_malloc(NULL, d * k * sizeof(double));
	acc = fd_calloc(NULL, d, sizeof(double));
	if (!omega || !Z || !Y || !ctx.buf || !tmp || !G || !U || !w || !Vd || !acc)
		goto fail;

	/* mean = (1/n) sum_i x_i, in double */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++)
			acc[j] += x[i * d + j];
	for (size_t j = 0; j < d; j++)
		p->mean[j] = (float)(acc[j] / (double)n);

	ctx.x = x;
	ctx.n = n;
	ctx.d = d;
	ctx.mean = p->mean;
	fd_rng_seed(&rng, seed);
	fd_rng_fill_normal(&rng, omega, d * l, 1.0f);

	xc_mul(&ctx, omega, (int)l, Y); /* Y = Xc Omega */
	orth_f(Y, n, l, tmp, &rng);     /* Q = orth(Y) */
	for (int it = 0; it < PCA_POWER_ITERS; it++) {
		xct_mul(&ctx, Y, (int)l, Z); /* Z = Xc^T Q */
		orth_f(Z, d, l, tmp, &rng);
		xc_mul(&ctx, Z, (int)l, Y); /* Y = Xc Z */
		orth_f(Y, n, l, tmp, &rng);
	}
	xct_mul(&ctx, Y, (int)l, Z); /* B^T = Xc^T Q, d x l */

	/* G = B B^T = (B^T)^T B^T, l x l, double */
	for (size_t a = 0; a < l; a++)
		for (size_t b = a; b < l; b++) {
			double s = 0;
			for (size_t i = 0; i < d; i++)
				s += (double)Z[i * l + a] * Z[i * l + b];
			G[a * l + b] = G[b * l + a] = s;
		}
	fd_jacobi_eigh(G, (int)l, w, U, 100);

	/* V_k = B^T U_k / sqrt(w_k), column-major double in Vd */
	for (size_t j = 0; j < k; j++) {
		double sj = w[j] > 0 ? sqrt(w[j]) : 0;
		int degenerate = !(sj > 1e-12 * sqrt(w[0] > 0 ? w[0] : 0)) || sj == 0;

		for (size_t i = 0; i < d; i++) {
			double s = 0;
			for (size_t a = 0; a < l; a++)
				s += (double)Z[i * l + a] * U[a * l + j];
			Vd[j * d + i] = degenerate ? 0 : s / sj;
		}
		p->var[j] = (float)((w[j] > 0 ? w[j] : 0) / (double)(n - 1));
	}
	mgs(Vd, d, k, &rng); /* exact orthonormality; fills null directions */
	for (size_t j = 0; j < k; j++) {
		/* sign: the largest-magnitude entry of each component is positive */
		size_t im = 0;
		for (size_t i = 1; i < d; i++)
			if (fabs(Vd[j * d + i]) > fabs(Vd[j * d + im]))
				im = i;
		double sg = Vd[j * d + im] < 0 ? -1 : 1;
		for (size_t i = 0; i < d; i++)
			p->V[i * k + j] = (float)(sg * Vd[j * d + i]);
	}
	pca_offsets(p);

	rc = fd_invnet_wrap(&pca_ops, d, k, p, FD_INVNET_PCA, NULL, out);
	if (rc == FDEN_OK)
		p = NULL;
fail:
	if (rc == FDEN_E_NOMEM)
		fd_err_set(NULL, FDEN_E_NOMEM, "%s: out of memory (n %zu, input_dim %zu)", fn, n, d);
	pca_free(p);
	fd_free(NULL, omega);
	fd_free(NULL, Z);
	fd_free(NULL, Y);
	fd_free(NULL, ctx.buf);
	fd_free(NULL, tmp);
	fd_free(NULL, G);
	fd_free(NULL, U);
	fd_free(NULL, w);
	fd_free(NULL, Vd);
	fd_free(NULL, acc);
	return rc;
}

int fd_pca_save(const void *ud, const char *path, struct fd_err *err)
{
	const struct fd_pca *p = ud;
	struct fd_ckpt_writer *w;
	uint64_t dims[2] = { p->d, p->k };
	int rc;

	rc = fd_ckpt_writer_new(FD_CKPT_PCA, NULL, err, &w);
	if (rc)
		return rc;
	if ((rc = fd_ckpt_put(w, "pca.dims", FD_CKPT_U64, dims, 2)) ||
	    (rc = fd_ckpt_put(w, "pca.mean", FD_CKPT_F32, p->mean, p->d)) ||
	    (rc = fd_ckpt_put(w, "pca.components", FD_CKPT_F32, p->V, p->d * p->k)) ||
	    (rc = fd_ckpt_put(w, "pca.variance", FD_CKPT_F32, p->var, p->k))) {
		fd_ckpt_writer_free(w);
		return rc;
	}
	return fd_ckpt_write(w, path);
}

int fd_pca_load(const char *path, struct fd_err *err, struct fden_invnet **out)
{
	struct fd_ckpt_reader *r;
	const void *data;
	const uint64_t *dims;
	struct fd_pca *p = NULL;
	int rc;

	rc = fd_ckpt_read(path, FD_CKPT_PCA, NULL, err, &r);
	if (rc)
		return rc;
	rc = fd_ckpt_get(r, "pca.dims", FD_CKPT_U64, 2, &data, NULL);
	if (rc)
		goto out;
	dims = data;
	if (dims[0] == 0 || dims[1] == 0 || dims[1] > dims[0] || dims[0] > 65536) {
		rc = fd_err_set(err, FDEN_E_FORMAT, "'%s': bad PCA sizes %llu x %llu", path,
				(unsigned long long)dims[0], (unsigned long long)dims[1]);
		goto out;
	}
	{ /* every record present with the claimed count before allocating */
		const void *mean, *comp, *var;
		size_t d = (size_t)dims[0], k = (size_t)dims[1];

		if ((rc = fd_ckpt_get(r, "pca.mean", FD_CKPT_F32, d, &mean, NULL)) ||
		    (rc = fd_ckpt_get(r, "pca.components", FD_CKPT_F32, d * k, &comp, NULL)) ||
		    (rc = fd_ckpt_get(r, "pca.variance", FD_CKPT_F32, k, &var, NULL)))
			goto out;
		if (pca_alloc(d, k, &p)) {
			rc = fd_err_set(err, FDEN_E_NOMEM, "'%s': out of memory", path);
			goto out;
		}
		memcpy(p->mean, mean, d * sizeof(float));
		memcpy(p->V, comp, d * k * sizeof(float));
		memcpy(p->var, var, k * sizeof(float));
	}
	pca_offsets(p);
	rc = fd_invnet_wrap(&pca_ops, p->d, p->k, p, FD_INVNET_PCA, err, out);
	if (rc == FDEN_OK)
		p = NULL;
out:
	pca_free(p);
	fd_ckpt_reader_free(r);
	return rc;
}
