/**
 * @file invnet.h
 * The plug-in interface for a host's pretrained invertible network
 * (encoder/decoder), and the built-in ones (PCA, MLP autoencoder,
 * convolutional autoencoder, ALI).
 * libfden never changes a host network: it only calls encode and decode.
 * Include <fden/fden.h> instead.
 */
#ifndef FDEN_INVNET_H
#define FDEN_INVNET_H

#include <fden/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of struct fden_invnet_ops this header describes. */
#define FDEN_INVNET_OPS_VERSION 1

/**
 * A host's invertible network. Callbacks return 0 on success and any other
 * value on failure (reported as FDEN_E_HOST). Arrays are row-major float32.
 */
struct fden_invnet_ops {
	size_t struct_size; /**< required: sizeof(struct fden_invnet_ops) */
	unsigned version;   /**< required: FDEN_INVNET_OPS_VERSION */
	/** required: x (n x input_dim) -> z (n x latent_dim) */
	int (*encode)(void *user_data, const float *x, size_t n, float *z);
	/** required: z (n x latent_dim) -> x (n x input_dim) */
	int (*decode)(void *user_data, const float *z, size_t n, float *x);
	/** optional: NULL means the host has no distribution; else mean and
	 *  log-sigma of q(z|x), each n x latent_dim */
	int (*encode_dist)(void *user_data, const float *x, size_t n, float *mu,
			   float *log_sigma);
	/** optional: NULL means nothing to release; called by fden_invnet_free */
	void (*destroy)(void *user_data);
};

struct fden_invnet; /**< an invertible network: host-supplied or built in */

/**
 * Wrap a host network. The ops struct is copied; user_data is borrowed
 * (released through ops->destroy, if given, when the wrapper is freed).
 * @return FDEN_OK; FDEN_E_VERSION for a struct_size or version this library
 *         does not know; FDEN_E_INVALID for a missing required member
 * @param ops the host's callbacks (copied)
 * @param input_dim, latent_dim widths of an input and of a latent
 * @param user_data passed back to every callback (borrowed)
 * @param[out] out the network, owned by the caller (fden_invnet_free)
 * @note Thread safety: safe from any thread (the new handle is the caller's).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_invnet_new(const struct fden_invnet_ops *ops,
					 size_t input_dim, size_t latent_dim,
					 void *user_data, struct fden_invnet **out);
/**
 * Free a network; calls ops->destroy(user_data) once if given. NULL is a
 * no-op.
 * @param net the network
 * @note Thread safety: no other call on the handle (or on anything borrowing
 *       from it) may run at the same time.
 * @since 0.1
 */
FDEN_EXPORT void fden_invnet_free(struct fden_invnet *net);
/**
 * Width of an input row.
 * @param net the network
 * @return input_dim (0 for NULL)
 * @note Thread safety: safe from any thread while no thread frees net.
 * @since 0.1
 */
FDEN_EXPORT size_t fden_invnet_input_dim(const struct fden_invnet *net);
/**
 * Width of a latent row.
 * @param net the network
 * @return latent_dim (0 for NULL)
 * @note Thread safety: safe from any thread while no thread frees net.
 * @since 0.1
 */
FDEN_EXPORT size_t fden_invnet_latent_dim(const struct fden_invnet *net);
/**
 * Encode n inputs (n x input_dim) into z (n x latent_dim), both caller-owned.
 * n = 0 succeeds without calling the network. Built-in networks are
 * reentrant: several threads may encode/decode through one of them.
 * @return FDEN_OK, FDEN_E_INVALID (NULL pointer), FDEN_E_OVERFLOW, or
 *         FDEN_E_HOST when the callback failed (fden_last_error() names the
 *         callback and the value it returned)
 * @param net the network
 * @param x n x input_dim inputs, row-major (borrowed)
 * @param n number of rows
 * @param[out] z n x latent_dim latents
 * @note Thread safety: the built-in networks are reentrant (many threads may
 *       encode and decode through one); a host network is as safe as its
 *       callbacks; not while a thread frees the network.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_invnet_encode(struct fden_invnet *net, const float *x,
					    size_t n, float *z);
/**
 * Decode n latents (n x latent_dim) into x (n x input_dim), both
 * caller-owned; as fden_invnet_encode().
 * @param net the network
 * @param z n x latent_dim latents, row-major (borrowed)
 * @param n number of rows
 * @param[out] x n x input_dim outputs
 * @return as fden_invnet_encode()
 * @note Thread safety: the built-in networks are reentrant (many threads may
 *       encode and decode through one); a host network is as safe as its
 *       callbacks; not while a thread frees the network.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_invnet_decode(struct fden_invnet *net, const float *z,
					    size_t n, float *x);
/**
 * Encode n inputs into the mean and log-sigma of the network's posterior
 * (for hosts with a stochastic encoder).
 * @param net the network
 * @param x n x input_dim inputs, row-major (borrowed)
 * @param n number of rows
 * @param[out] mu n x latent_dim means
 * @param[out] log_sigma n x latent_dim log standard deviations
 * @return FDEN_OK; FDEN_E_UNSUPPORTED when the network has no distribution
 *         (ops->encode_dist NULL, every built-in); otherwise as
 *         fden_invnet_encode()
 * @note Thread safety: the built-in networks are reentrant (many threads may
 *       encode and decode through one); a host network is as safe as its
 *       callbacks; not while a thread frees the network.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_invnet_encode_dist(struct fden_invnet *net, const float *x,
						 size_t n, float *mu, float *log_sigma);

/**
 * Fit a PCA invertible network on n inputs (n x input_dim, row-major),
 * by randomized SVD (latent_dim + 10 columns, two power iterations):
 * encode z = (x - mean) V, decode x = z V^T + mean, V the top latent_dim
 * principal directions (orthonormal; sign fixed so each direction's
 * largest-magnitude entry is positive). The same seed gives the same bits.
 * @param x n x input_dim inputs, row-major
 * @param n number of inputs (at least 2)
 * @param input_dim width of an input
 * @param latent_dim in [1, input_dim]; input_dim at most 65536
 * @param seed seed of the randomized SVD
 * @param[out] out the network, owned by the caller (fden_invnet_free)
 * @return FDEN_OK, FDEN_E_INVALID (NULL, n < 2, bad widths),
 *         FDEN_E_NONFINITE (NaN or infinity in x), FDEN_E_OVERFLOW,
 *         FDEN_E_NOMEM
 * @note Thread safety: safe from any thread ; x is only read (the new handle is the caller's).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_invnet_fit_pca(const float *x, size_t n, size_t input_dim,
					     size_t latent_dim, uint64_t seed,
					     struct fden_invnet **out);

/** Settings of the built-in MLP autoencoder. */
struct fden_ae_options {
	size_t struct_size;  /**< sizeof(struct fden_ae_options) */
	size_t hidden;       /**< hidden width (512) */
	size_t epochs;       /**< passes over the data (10) */
	size_t batch;        /**< minibatch (128) */
	double lr;           /**< Adam learning rate (1e-3) */
	uint64_t seed;       /**< seed of the initialisation and the batch order (1) */
	int threads;         /**< BLIS threads (1): 1 to the CPUs this process may
	                           use, or 4 when fewer; more is FDEN_E_INVALID */
	fden_log_fn log;     /**< optional progress callback */
	void *log_user_data; /**< passed back to log */
};
/**
 * Fill *opt with the defaults.
 * @param[out] opt the options; NULL is a no-op
 * @note Thread safety: safe from any thread.
 * @since 0.1
 */
FDEN_EXPORT void fden_ae_options_default(struct fden_ae_options *opt);
/**
 * Fit an MLP autoencoder: encoder input -> hidden -> hidden -> latent
 * (leaky ReLU, linear latent), decoder latent -> hidden -> hidden -> input
 * with a sigmoid output, so inputs should lie in [0, 1]. Mean squared error,
 * Adam, minibatches of rows shuffled each epoch from opt->seed (the last
 * partial batch of an epoch is skipped). One FDEN_LOG_INFO line per epoch
 * ("autoencoder epoch E/N: mse M (T s)") goes to opt->log.
 * @param x n x input_dim inputs in [0, 1], row-major
 * @param n number of inputs
 * @param input_dim, latent_dim widths of an input and of a latent
 * @param opt optional (NULL: defaults); struct_size must be set (use
 *        fden_ae_options_default())
 * @param[out] out the network, owned by the caller (fden_invnet_free)
 * @return FDEN_OK, FDEN_E_INVALID, FDEN_E_VERSION (struct_size too small),
 *         FDEN_E_NONFINITE (non-finite input or loss), FDEN_E_OVERFLOW,
 *         FDEN_E_NOMEM
 * @note Thread safety: safe from any thread ; x is only read (the new handle is the caller's).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_invnet_fit_autoencoder(const float *x, size_t n,
						     size_t input_dim, size_t latent_dim,
						     const struct fden_ae_options *opt,
						     struct fden_invnet **out);
/** Loss of the built-in convolutional autoencoder. @since 0.2 */
enum fden_conv_loss {
	FDEN_CONV_LOSS_L2 = 0,  /**< mean squared error */
	FDEN_CONV_LOSS_BCE = 1, /**< binary cross entropy (inputs in [0, 1]) */
};

/** Settings of the built-in convolutional autoencoder. @since 0.2 */
struct fden_conv_options {
	size_t struct_size;   /**< sizeof(struct fden_conv_options) */
	size_t height;        /**< input image rows; height and width both 0: square, from input_dim / channels */
	size_t width;         /**< input image columns */
	size_t channels;      /**< channels of an input pixel (1) */
	size_t base_channels; /**< channels of the first convolution (32), doubled per level */
	size_t levels;        /**< stride-2 convolutions (2: 28x28 -> 14x14 -> 7x7) */
	size_t epochs;        /**< passes over the data (20) */
	size_t batch;         /**< minibatch (64) */
	double lr;            /**< Adam learning rate (2e-3) */
	int loss;             /**< enum fden_conv_loss (FDEN_CONV_LOSS_L2) */
	uint64_t seed;        /**< seed of the initialisation and the batch order (1) */
	int threads;          /**< BLIS threads (1) */
	double time_budget;   /**< seconds of fitting, 0 = no limit: fitting stops after
			       *   the step that passes it */
	fden_log_fn log;      /**< optional progress callback */
	void *log_user_data;  /**< passed back to log */
	double contrast;      /**< weight of the contrastive (InfoNCE) term, 0 = off (0.1) */
	double contrast_tau;  /**< its temperature (0.2) */
	double aug_rotation;  /**< augmented view: rotation up to +-this many degrees (10) */
	double aug_scale;     /**< ... scale 1 +- this (0.1) */
	double aug_shift;     /**< ... shift up to +-this many pixels (2) */
};
/**
 * Fill *opt with the defaults.
 * @param[out] opt the options; NULL is a no-op
 * @note Thread safety: safe from any thread.
 * @since 0.2
 */
FDEN_EXPORT void fden_conv_options_default(struct fden_conv_options *opt);
/**
 * Fit a convolutional autoencoder on images. A row of x is one image of
 * height x width x channels floats, channels last (pixel (y, x) channel c
 * at (y width + x) channels + c; for one channel, a row-major image).
 * Encoder: opt->levels convolutions 4x4, stride 2, padding 1 (base, 2 base,
 * 4 base, ... channels; batch norm over channels, leaky ReLU 0.2), then a
 * dense layer to latent_dim (linear). Decoder: dense latent_dim -> the
 * smallest feature map (batch norm, leaky ReLU), opt->levels transposed
 * convolutions 4x4 stride 2 back to the input shape (odd sizes restored by
 * output padding; height and width must be both even or both odd at each
 * level), sigmoid output, so inputs should lie in [0, 1]. L2 or binary
 * cross-entropy loss, Adam, minibatches shuffled each epoch from
 * opt->seed (the last partial batch of an epoch is skipped). One
 * FDEN_LOG_INFO line per epoch ("conv autoencoder epoch E/N: mse M (T s)").
 * With opt->contrast > 0 (the default, 0.1) the fit adds SimCLR's
 * contrastive term (0 turns it off: a plain autoencoder): each
 * batch also gets a randomly warped view of every image (rotation, scale,
 * shift, bilinear; drawn from opt->seed), both views are encoded, a
 * projection head (dense 256, batch norm, ReLU, dense 64; discarded after
 * the fit) maps the latents, and opt->contrast times the InfoNCE loss at
 * temperature opt->contrast_tau (each view's positive is the other view of
 * its image, the rest of the 2 x batch rows are negatives) is added to the
 * reconstruction loss of the clean view. It makes latents of one class
 * nearer each other (unseen glyph classes: nearest-class-mean 5-way 1-shot
 * from about 41% to 71%, see docs/method.md) at some cost in reconstruction;
 * the per-epoch line then also gives "nce N".
 * The network's encode and decode are reentrant and refuse non-finite
 * inputs (the call fails with FDEN_E_HOST).
 * Thread safety: any thread; x is only read.
 * @param x n x input_dim inputs in [0, 1], row-major
 * @param n number of inputs
 * @param input_dim height x width x channels
 * @param latent_dim width of a latent (1 .. 65536)
 * @param opt optional (NULL: defaults, square one-channel images);
 *        struct_size must be set (use fden_conv_options_default())
 * @param[out] out the network, owned by the caller (fden_invnet_free)
 * @return FDEN_OK, FDEN_E_INVALID (NULL, bad shape or options),
 *         FDEN_E_VERSION (struct_size too small), FDEN_E_NONFINITE
 *         (non-finite input or loss), FDEN_E_OVERFLOW, FDEN_E_NOMEM
 * @since 0.2
 */
FDEN_EXPORT FDEN_WUR int fden_invnet_fit_conv(const float *x, size_t n, size_t input_dim,
					      size_t latent_dim,
					      const struct fden_conv_options *opt,
					      struct fden_invnet **out);
/** Output non-linearity of the built-in ALI host's decoder G_x. @since 0.2 */
enum fden_ali_output {
	FDEN_ALI_SIGMOID = 0, /**< x in [0, 1] */
	FDEN_ALI_TANH = 1,    /**< x in [-1, 1] */
};

/** Settings of the built-in ALI host. @since 0.2 */
struct fden_ali_options {
	size_t struct_size;   /**< sizeof(struct fden_ali_options) */
	size_t height;        /**< input image rows; height and width both 0: square, from input_dim / channels */
	size_t width;         /**< input image columns */
	size_t channels;      /**< channels of an input pixel (1) */
	size_t base_channels; /**< channels of the first convolution (8; the ALI paper's
			       *   SVHN model has 32), multiplied by 2, 4, 8, 16 deeper in */
	size_t epochs;        /**< passes over the data (100) */
	size_t batch;         /**< minibatch (100) */
	double lr;            /**< Adam learning rate of all three networks (1e-4) */
	double beta1;         /**< Adam beta1 (0.5) */
	double dropout;       /**< dropout rate in the discriminator, in [0, 1) (0.2) */
	double l2_weight;     /**< weight of the reconstruction term
			       *   mean_i ||x_i - G_x(G_z(x_i))||^2 in the generators'
			       *   loss (0: plain ALI) */
	int output;           /**< enum fden_ali_output (FDEN_ALI_SIGMOID) */
	uint64_t seed;        /**< seed of the initialisation and the batch order (1) */
	int threads;          /**< BLIS threads (1) */
	double time_budget;   /**< seconds of fitting, 0 = no limit: fitting stops after
			       *   the step that passes it */
	size_t log_steps;     /**< also a log line every this many steps (0: only per epoch) */
	fden_log_fn log;      /**< optional progress callback */
	void *log_user_data;  /**< passed back to log */
};
/**
 * Fill *opt with the defaults.
 * @param[out] opt the options; NULL is a no-op
 * @note Thread safety: safe from any thread.
 * @since 0.2
 */
FDEN_EXPORT void fden_ali_options_default(struct fden_ali_options *opt);
/**
 * Fit an ALI host (Dumoulin et al., "Adversarially Learned Inference";
 * BiGAN) on images, rows of height x width x channels floats, channels
 * last. Three networks, the paper's small-image (SVHN) model scaled to
 * the input (B = opt->base_channels; leaky ReLU 0.01, batch norm):
 *  - G_z(x): conv 5x5 (B), 4x4/2 (2B), 4x4 (4B), 4x4/2 (8B), dense 16B,
 *    dense 16B, dense 2 latent_dim: the mean mu and log-sigma of a
 *    Gaussian q(z|x); training samples z = mu + sigma eps;
 *  - G_x(z): dense to the 8B map G_z's last convolution sees, transposed
 *    conv 4x4/2 (4B), 4x4 (2B), 4x4/2 (B), 5x5 (B), conv 1x1 (B), conv 1x1
 *    to the channels with a per-pixel bias (started at the data's log-odds),
 *    sigmoid or tanh;
 *  - D(x, z): a conv branch on x (as G_z's first five layers, to 16B), a
 *    dense branch on z (16B, 16B), concatenated and scored by dense
 *    32B, 32B, 1; dropout opt->dropout on the input of x, of z and of each
 *    joint layer.
 * Objective: D maximises log D(x, G_z(x)) + log(1 - D(G_x(z), z)), z from
 * N(0, I); the generators minimise the non-saturating reverse,
 * -log(1 - D(x, G_z(x))) - log D(G_x(z), z), plus opt->l2_weight times
 * mean_i ||x_i - G_x(G_z(x_i))||^2 (the FDEN paper's Appendix B.2).
 * Both sides' gradients are taken at the same point and applied at once
 * (Adam for each network). Height and width must be at least 20 and halve
 * alike. encode gives mu, encode_dist mu and log-sigma, decode G_x(z).
 * One FDEN_LOG_INFO line before training ("ali epoch 0/N: recon mse M")
 * and one per epoch ("ali epoch E/N: D loss L, G loss L, D acc A, recon
 * mse M, train l2 R (T s, S steps)": means over the epoch's steps; recon
 * mse in evaluation mode over up to 256 fixed rows; train l2 the term's
 * mean, 0 without it); with opt->log_steps, also "ali step S: ..." with
 * the same fields over the steps since the last line.
 * Thread safety: any thread; x is only read.
 * @param x n x input_dim inputs (in [0, 1] for a sigmoid output, [-1, 1]
 *        for tanh), row-major
 * @param n number of inputs (at least 2)
 * @param input_dim height x width x channels
 * @param latent_dim width of a latent (1 .. 65536)
 * @param opt optional (NULL: defaults, square one-channel images);
 *        struct_size must be set (use fden_ali_options_default())
 * @param[out] out the network, owned by the caller (fden_invnet_free)
 * @return FDEN_OK, FDEN_E_INVALID (NULL, bad shape or options),
 *         FDEN_E_VERSION (struct_size too small), FDEN_E_NONFINITE
 *         (non-finite input or loss), FDEN_E_OVERFLOW, FDEN_E_NOMEM
 * @since 0.2
 */
FDEN_EXPORT FDEN_WUR int fden_invnet_fit_ali(const float *x, size_t n, size_t input_dim,
					     size_t latent_dim,
					     const struct fden_ali_options *opt,
					     struct fden_invnet **out);
/**
 * Save a built-in network (zlib checkpoint with magic, version and CRC,
 * written atomically).
 * @param net the network (only read)
 * @param path file to write
 * @return FDEN_OK; FDEN_E_INVALID (NULL argument); FDEN_E_UNSUPPORTED for
 *         host networks; FDEN_E_OVERFLOW; FDEN_E_NOMEM; FDEN_E_IO (the detail
 *         names the path)
 * @note Thread safety: safe from any thread while no thread frees net; two
 *       saves of one path at once leave one of the two files, whole.
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_invnet_save(const struct fden_invnet *net, const char *path);
/**
 * Load a built-in network saved by fden_invnet_save(); it encodes and
 * decodes bit-for-bit as the saved one did.
 * @param path file written by fden_invnet_save()
 * @param[out] out the network, owned by the caller (fden_invnet_free)
 * @return FDEN_OK, FDEN_E_IO, FDEN_E_FORMAT (not a PCA/autoencoder/conv/ALI file,
 *         truncated), FDEN_E_CORRUPT, FDEN_E_VERSION, FDEN_E_NOMEM
 * @note Thread safety: safe from any thread (the new handle is the caller's).
 * @since 0.1
 */
FDEN_EXPORT FDEN_WUR int fden_invnet_load(const char *path, struct fden_invnet **out);

#ifdef __cplusplus
}
#endif

#endif /* FDEN_INVNET_H */
