/* Internal contract of the invertible-network layer: how invnet.c wraps an
 * ops table (host or built-in) and how the built-ins (PCA, autoencoder, conv autoencoder)
 * save and load themselves through io/ckpt.h. */
#ifndef FD_INVNET_BUILTIN_H
#define FD_INVNET_BUILTIN_H

#include <stddef.h>
#include <fden/invnet.h>
#include "core/error.h"

enum fd_invnet_kind {
	FD_INVNET_HOST = 0,
	FD_INVNET_PCA = 1,
	FD_INVNET_AE = 2,
	FD_INVNET_CONV = 3,
	FD_INVNET_ALI = 4,
};

/* Wrap an already validated ops table. On failure ops->destroy (if any) is
 * NOT called: the caller still owns user_data. */
int fd_invnet_wrap(const struct fden_invnet_ops *ops, size_t input_dim, size_t latent_dim,
		   void *user_data, int kind, struct fd_err *err, struct fden_invnet **out);
int fd_invnet_kind(const struct fden_invnet *net);
/* The built-in's own state (the user_data of its ops table). Borrowed. */
void *fd_invnet_user_data(const struct fden_invnet *net);

/* Built-ins' checkpoints: ud is the built-in's user_data. */
int fd_pca_save(const void *ud, const char *path, struct fd_err *err);
int fd_pca_load(const char *path, struct fd_err *err, struct fden_invnet **out);
int fd_ae_save(const void *ud, const char *path, struct fd_err *err);
int fd_ae_load(const char *path, struct fd_err *err, struct fden_invnet **out);
int fd_cae_save(const void *ud, const char *path, struct fd_err *err);
int fd_cae_load(const char *path, struct fd_err *err, struct fden_invnet **out);
/* The conv autoencoder from an open reader (the fuzz harness's way in);
 * `what` names the source in messages. */
struct fd_ckpt_reader;
int fd_cae_load_reader(struct fd_ckpt_reader *r, const char *what, struct fd_err *err,
		       struct fden_invnet **out);
int fd_ali_save(const void *ud, const char *path, struct fd_err *err);
int fd_ali_load(const char *path, struct fd_err *err, struct fden_invnet **out);
/* The ALI host from an open reader, as fd_cae_load_reader. */
int fd_ali_load_reader(struct fd_ckpt_reader *r, const char *what, struct fd_err *err,
		       struct fden_invnet **out);

/* Symmetric eigen-decomposition by cyclic Jacobi rotations, in double.
 * A (n x n, row-major, symmetric) is destroyed. w[n] gets the eigenvalues in
 * descending order, V (n x n, row-major) the matching eigenvectors as
 * columns. Returns the number of sweeps used (> max_sweeps: not converged). */
int fd_jacobi_eigh(double *A, int n, double *w, double *V, int max_sweeps);

#endif
