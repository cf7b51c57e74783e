/* Alignment heads: P(y | query, support) from identity factors, forward and
 * backward, on one episode (or any labelled support set).
 *
 * Every head writes log-probabilities logp (nq x C). When yq is not NULL it
 * returns sum_q -logp[q][yq[q]] (the summed cross entropy) and, when dS / dQ
 * are not NULL, ADDS scale * d(summed CE)/dS and /dQ into them. Support
 * labels ys are in [0, C) and every class needs at least one support row
 * (the caller checks). ws holds fd_align_ws() floats. */
#ifndef FD_FDEN_ALIGN_H
#define FD_FDEN_ALIGN_H

#include <stddef.h>
#include <stdint.h>

/* Floats of workspace any head needs for these sizes. */
size_t fd_align_ws(int ns, int nq, int C, int dim);

/* Prototypical: logit_qk = -||q - c_k||^2, c_k = mean of class-k supports. */
double fd_align_proto(const float *S, const int32_t *ys, int ns, const float *Q,
		      const int32_t *yq, int nq, int C, int dim, float *logp,
		      float scale, float *dS, float *dQ, float *ws);

/* Normalised prototypical (FDEN_P_ALIGN_NORM): every row u = x - mu
 * (mu = 0, or with FD_ALIGN_NORM_CENTRE the mean of the support rows) is
 * L2-normalised, the class means c_k are taken over the normalised supports,
 * and logit_qk = -t ||q^ - c_k||^2 with t = exp(log_t). With yq, the
 * gradients ADD into dS, dQ (through the normalisation and the centre) and
 * *dlog_t (each may be NULL). */
enum { FD_ALIGN_NORM_UNIT = 1,
       FD_ALIGN_NORM_CENTRE = 2 }; /* == enum fden_align_norm */
double fd_align_proto_norm(const float *S, const int32_t *ys, int ns, const float *Q,
			   const int32_t *yq, int nq, int C, int dim, int mode, float log_t,
			   float *logp, float scale, float *dS, float *dQ, float *dlog_t, float *ws);

/* Matching: a_qs = softmax_s cos(q, s); P_qk = sum_{s: ys = k} a_qs. */
double fd_align_matching(const float *S, const int32_t *ys, int ns, const float *Q,
			 const int32_t *yq, int nq, int C, int dim, float *logp,
			 float scale, float *dS, float *dQ, float *ws);

/* Relation, in three pieces around the caller's scoring MLP r(q ++ s):
 * pairs: P[q*ns + s] = Q_q ++ S_s (rows of 2*dim);
 * loss: logit_qk = mean_{s: ys = k} r[q*ns + s], log-softmax over k; when yq
 *       and dr are given, dr (nq*ns) = scale * d(summed CE)/dr (overwritten);
 * scatter: dQ_q += sum_s dP[q,s][0:dim], dS_s += sum_q dP[q,s][dim:2dim]. */
void fd_align_relation_pairs(const float *S, int ns, const float *Q, int nq, int dim, float *P);
double fd_align_relation_loss(const float *r, const int32_t *ys, int ns, const int32_t *yq,
			      int nq, int C, float *logp, float scale, float *dr, float *ws);
void fd_align_relation_scatter(const float *dP, int ns, int nq, int dim, float *dS, float *dQ);

/* Index of the largest of x[0..n). */
int fd_argmax(const float *x, int n);

#endif
