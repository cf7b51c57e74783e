/* Batch normalisation over the rows of an n x w batch, with the
 * activation (and dropout) that follows it fused into the same sweeps.
 * Training: batch statistics (biased variance for normalising), running
 * statistics updated as run = momentum run + (1 - momentum) batch with the
 * unbiased variance. Evaluation: running statistics. */
#ifndef FD_NN_BATCHNORM_H
#define FD_NN_BATCHNORM_H

/* Training forward. In: h = pre-norm values. Out: h = xhat =
 * (h - mean) / sqrt(var + eps); a = act(gamma xhat + beta); when mask is not
 * NULL, y = a * mask. mean and inv_std (w each) receive the batch mean and
 * 1/sqrt(var + eps) for backward. run_mean/run_var may be NULL (no update). */
void fd_bn_forward_train(float *h, int n, int w, const float *gamma, const float *beta,
			 float eps, float momentum, float *run_mean, float *run_var,
			 float *mean, float *inv_std, int act, float slope,
			 const float *mask, float *a, float *y);

/* The statistics half of fd_bn_forward_train: mean, inv_std (w each) and the
 * running statistics (may be NULL) from the pre-norm values h. */
void fd_bn_stats(const float *h, int n, int w, float eps, float momentum, float *run_mean,
		 float *run_var, float *mean, float *inv_std);

/* Backward through dropout mask (may be NULL), activation and batch norm:
 * dz = dy mask act'(a); dgamma += sum dz xhat; dbeta += sum dz;
 * dh = gamma inv_std (dz - mean(dz) - xhat mean(dz xhat)).
 * dh may alias dy; scratch holds 2 w floats. */
void fd_bn_backward(const float *xhat, const float *a, const float *dy, const float *mask,
		    int n, int w, const float *gamma, const float *inv_std,
		    int act, float slope, float *dgamma, float *dbeta, float *dh,
		    float *scratch);

/* The same from xhat alone (the MLP keeps one cache per layer): a =
 * act(gamma xhat + beta) is recomputed; keep (may be NULL) holds the
 * dropout decisions as bits (fd_dropout_keep_bits, n rows of w), a kept
 * element scaled by kscale = 1/(1 - rate); kb is a w-byte row buffer. */
void fd_bn_backward_x(const float *xhat, const float *dy, const unsigned char *keep,
		      float kscale, unsigned char *kb, int n, int w, const float *gamma,
		      const float *beta, const float *inv_std, int act, float slope,
		      float *dgamma, float *dbeta, float *dh, float *scratch);

/* Evaluation: y = act(gamma (h - run_mean) / sqrt(run_var + eps) + beta).
 * y may alias h; scratch holds 2 w floats. */
void fd_bn_infer(const float *h, int n, int w, const float *gamma, const float *beta,
		 const float *run_mean, const float *run_var, float eps,
		 int act, float slope, float *y, float *scratch);

#endif
