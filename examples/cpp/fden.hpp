// fden.hpp: a header-only C++17 RAII wrapper over libfden's C API.
//
// Handles are move-only owners (std::unique_ptr with the library's free
// function); failures throw fden::error carrying the status code and the
// detail message from fden_last_error(). Arrays are std::vector<float>,
// row-major, n * dim long.
#ifndef FDEN_HPP
#define FDEN_HPP

#include <fden/fden.h>

#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fden {

/// A failed libfden call.
class error : public std::runtime_error {
public:
	error(int status, const std::string &detail)
		: std::runtime_error(std::string(fden_strerror(status)) +
				     (detail.empty() ? "" : ": " + detail)),
		  status_(status), detail_(detail) {}
	int status() const noexcept { return status_; }
	const std::string &detail() const noexcept { return detail_; }

private:
	int status_;
	std::string detail_;
};

/// Throw fden::error unless rc is FDEN_OK.
inline void check(int rc)
{
	if (rc != FDEN_OK)
		throw error(rc, fden_last_error());
}

namespace detail {
template <typename T, void (*Free)(T *)> struct deleter {
	void operator()(T *p) const noexcept { Free(p); }
};
template <typename T, void (*Free)(T *)> using owner = std::unique_ptr<T, deleter<T, Free>>;

inline size_t rows_of(const std::vector<float> &v, size_t dim, const char *what)
{
	if (dim == 0 || v.size() % dim != 0)
		throw error(FDEN_E_SHAPE, std::string(what) + " is not a whole number of rows");
	return v.size() / dim;
}
} // namespace detail

/// Model settings (struct fden_config).
class config {
public:
	config() { fden_config *p; check(fden_config_new(&p)); h_.reset(p); }
	config &set(fden_param key, double value)
	{
		check(fden_config_set(h_.get(), key, value));
		return *this;
	}
	double get(fden_param key) const
	{
		double v;
		check(fden_config_get(h_.get(), key, &v));
		return v;
	}
	config &preset(fden_preset p)
	{
		check(fden_config_preset(h_.get(), p));
		return *this;
	}
	const fden_config *get() const noexcept { return h_.get(); }

private:
	detail::owner<fden_config, fden_config_free> h_;
};

/// Factors of n latents.
struct factors {
	std::vector<float> ide, sty;
};

/// A trainable FDEN model (struct fden_model).
class model {
public:
	explicit model(const config &cfg)
	{
		fden_model *p;
		check(fden_model_new(cfg.get(), &p));
		h_.reset(p);
	}
	static model load(const std::string &path)
	{
		fden_model *p;
		check(fden_model_load(path.c_str(), nullptr, &p));
		return model(p);
	}
	void save(const std::string &path) const { check(fden_model_save(h_.get(), path.c_str())); }
	size_t dim() const noexcept { return fden_model_dim(h_.get()); }
	/** Width of f_ide (Dim, or ide_dim for the flow disentangler). */
	size_t ide_dim() const noexcept { return fden_model_ide_dim(h_.get()); }
	/** Width of f_sty (Dim, or Dim - ide_dim for the flow disentangler). */
	size_t sty_dim() const noexcept { return fden_model_sty_dim(h_.get()); }
	uint64_t step() const noexcept { return fden_model_step(h_.get()); }

	/// Change a key of the live model between training steps
	/// (fden_model_set_param): only the learning-rate schedule,
	/// FDEN_P_LR_DECAY, FDEN_P_LR_DECAY_STEPS (the horizon; 0, the default,
	/// is no decay) and FDEN_P_LR_DECAY_FACTOR. Holds from the next step on
	/// and is saved with the model. Throws fden::error (FDEN_E_INVALID, the
	/// library's reason in detail()) for any other key or a bad value; the
	/// model is unchanged.
	model &set_param(int key, double value)
	{
		check(fden_model_set_param(h_.get(), key, value));
		return *this;
	}
	/// Detail of the last failure on this model ("" if none).
	std::string last_error() const
	{
		const char *msg = fden_model_last_error(h_.get());
		return msg ? msg : "";
	}

	/// Standardise latents per dimension inside the model, fitted to z's
	/// column means and sample standard deviations (n x Dim, row-major).
	void fit_standardization(const std::vector<float> &z)
	{
		check(fden_model_fit_standardization(h_.get(), z.data(), detail::rows_of(z, dim(), "z")));
	}
	/// As fit_standardization(), over the rows whose label (one per row) is
	/// not in exclude, exactly as a copy of those rows would give: the
	/// classes held out of training, without the copy.
	void fit_standardization_except(const std::vector<float> &z, const std::vector<int32_t> &labels,
					const std::vector<int32_t> &exclude)
	{
		size_t n = detail::rows_of(z, dim(), "z");
		if (labels.size() != n)
			throw error(FDEN_E_SHAPE, "labels: one per row of z");
		check(fden_model_fit_standardization_except(h_.get(), z.data(), labels.data(), n,
							    exclude.data(), exclude.size()));
	}

	/// One training step on episodes (ways*shots support rows, then queries, per episode);
	/// the stats' lr is the rate it used.
	/// classes: empty, or each episode class's global id (n_episodes*ways,
	/// class c of episode e at e*ways + c), needed by FDEN_P_STY_CLS.
	fden_step_stats train_step(const std::vector<float> &z, const std::vector<int32_t> &labels,
				   size_t ways, size_t shots, size_t queries,
				   const std::vector<int32_t> &classes = {})
	{
		size_t n = detail::rows_of(z, dim(), "z"), per = ways * (shots + queries);
		if (per == 0 || n % per != 0 || labels.size() != n)
			throw error(FDEN_E_SHAPE, "episodes: rows, labels and ways*(shots+queries) disagree");
		if (!classes.empty() && classes.size() != n / per * ways)
			throw error(FDEN_E_SHAPE, "episodes: classes must hold n_episodes*ways ids");
		fden_episodes ep{};
		ep.struct_size = sizeof ep;
		ep.n_episodes = n / per;
		ep.ways = ways;
		ep.shots = shots;
		ep.queries = queries;
		ep.z = z.data();
		ep.labels = labels.data();
		ep.classes = classes.empty() ? nullptr : classes.data();
		fden_step_stats st{};
		st.struct_size = sizeof st;
		check(fden_train_step(h_.get(), &ep, &st));
		return st;
	}

	factors disentangle(const std::vector<float> &z) const
	{
		size_t n = detail::rows_of(z, dim(), "z");
		factors f{std::vector<float>(n * ide_dim()), std::vector<float>(n * sty_dim())};
		check(fden_disentangle(h_.get(), z.data(), n, f.ide.data(), f.sty.data()));
		return f;
	}

	std::vector<float> entangle(const std::vector<float> &ide, const std::vector<float> &sty) const
	{
		size_t n = detail::rows_of(ide, ide_dim(), "f_ide");
		if (sty.size() != n * sty_dim())
			throw error(FDEN_E_SHAPE, "f_sty does not hold as many rows as f_ide");
		std::vector<float> z(n * dim());
		check(fden_entangle(h_.get(), ide.data(), sty.data(), n, z.data()));
		return z;
	}

	std::vector<int32_t> predict(const std::vector<float> &support, const std::vector<int32_t> &labels,
				     size_t ways, const std::vector<float> &query) const
	{
		size_t ns = detail::rows_of(support, dim(), "support"), nq = detail::rows_of(query, dim(), "query");
		if (labels.size() != ns)
			throw error(FDEN_E_SHAPE, "one label per support row");
		std::vector<int32_t> pred(nq);
		check(fden_predict(h_.get(), support.data(), labels.data(), ns, ways, query.data(), nq,
				   pred.data(), nullptr));
		return pred;
	}

	fden_model *get() noexcept { return h_.get(); }

private:
	explicit model(fden_model *p) : h_(p) {}
	detail::owner<fden_model, fden_model_free> h_;
};

/// Settings of invnet::fit_autoencoder(): struct fden_ae_options with its
/// defaults (hidden 512, 10 epochs, ...).
struct ae_options : fden_ae_options {
	ae_options() : fden_ae_options() { fden_ae_options_default(this); }
};

/// Settings of invnet::fit_conv(): struct fden_conv_options with its
/// defaults (square one-channel images, base_channels 32, 2 levels, ...).
struct conv_options : fden_conv_options {
	conv_options() : fden_conv_options() { fden_conv_options_default(this); }
};

/// Settings of invnet::fit_ali(): struct fden_ali_options with its defaults
/// (square one-channel images, base_channels 8, 100 epochs, ...).
struct ali_options : fden_ali_options {
	ali_options() : fden_ali_options() { fden_ali_options_default(this); }
};

/// An invertible network: a host one from two std::functions, or built in.
class invnet {
public:
	using codec = std::function<void(const float *in, size_t n, float *out)>;

	/// Wrap host encode/decode functions. Exceptions they throw become
	/// FDEN_E_HOST failures; the first one is rethrown by encode()/decode().
	invnet(size_t input_dim, size_t latent_dim, codec encode, codec decode)
		: host_(new host{std::move(encode), std::move(decode), nullptr})
	{
		fden_invnet_ops ops{};
		ops.struct_size = sizeof ops;
		ops.version = FDEN_INVNET_OPS_VERSION;
		ops.encode = [](void *ud, const float *x, size_t n, float *z) {
			return static_cast<host *>(ud)->call(&host::enc, x, n, z);
		};
		ops.decode = [](void *ud, const float *z, size_t n, float *x) {
			return static_cast<host *>(ud)->call(&host::dec, z, n, x);
		};
		fden_invnet *p;
		check(fden_invnet_new(&ops, input_dim, latent_dim, host_.get(), &p));
		h_.reset(p);
	}
	static invnet fit_pca(const std::vector<float> &x, size_t input_dim, size_t latent_dim,
			      uint64_t seed)
	{
		fden_invnet *p;
		check(fden_invnet_fit_pca(x.data(), detail::rows_of(x, input_dim, "x"), input_dim,
					  latent_dim, seed, &p));
		return invnet(p);
	}
	/// Fit the built-in MLP autoencoder (sigmoid output: inputs in [0, 1];
	/// fden_invnet_fit_autoencoder).
	static invnet fit_autoencoder(const std::vector<float> &x, size_t input_dim,
				      size_t latent_dim, const ae_options &opt = ae_options())
	{
		return fit_with(fden_invnet_fit_autoencoder, x, input_dim, latent_dim, opt);
	}
	/// Fit the built-in convolutional autoencoder on images (rows of height x
	/// width x channels floats in [0, 1], channels last; fden_invnet_fit_conv).
	static invnet fit_conv(const std::vector<float> &x, size_t input_dim, size_t latent_dim,
			       const conv_options &opt = conv_options())
	{
		return fit_with(fden_invnet_fit_conv, x, input_dim, latent_dim, opt);
	}
	/// Fit the built-in ALI host on images (rows of height x width x
	/// channels floats, channels last, at least 20 x 20; fden_invnet_fit_ali).
	/// encode gives the mean of q(z|x), decode G_x(z).
	static invnet fit_ali(const std::vector<float> &x, size_t input_dim, size_t latent_dim,
			      const ali_options &opt = ali_options())
	{
		return fit_with(fden_invnet_fit_ali, x, input_dim, latent_dim, opt);
	}
	static invnet load(const std::string &path)
	{
		fden_invnet *p;
		check(fden_invnet_load(path.c_str(), &p));
		return invnet(p);
	}
	void save(const std::string &path) const { check(fden_invnet_save(h_.get(), path.c_str())); }
	size_t input_dim() const noexcept { return fden_invnet_input_dim(h_.get()); }
	size_t latent_dim() const noexcept { return fden_invnet_latent_dim(h_.get()); }

	std::vector<float> encode(const std::vector<float> &x)
	{
		size_t n = detail::rows_of(x, input_dim(), "x");
		std::vector<float> z(n * latent_dim());
		rethrow(fden_invnet_encode(h_.get(), x.data(), n, z.data()));
		return z;
	}
	std::vector<float> decode(const std::vector<float> &z)
	{
		size_t n = detail::rows_of(z, latent_dim(), "z");
		std::vector<float> x(n * input_dim());
		rethrow(fden_invnet_decode(h_.get(), z.data(), n, x.data()));
		return x;
	}

private:
	struct host {
		codec enc, dec;
		std::exception_ptr failure;
		int call(codec host::*f, const float *in, size_t n, float *out) noexcept
		{
			try {
				(this->*f)(in, n, out);
				return 0;
			} catch (...) {
				failure = std::current_exception(); // never unwind into C
				return 1;
			}
		}
	};
	explicit invnet(fden_invnet *p) : h_(p) {}
	/// One of the built-in fits (fden_invnet_fit_*): rows of x checked
	/// against input_dim, options passed through, the status thrown.
	template <class Fit, class Options>
	static invnet fit_with(Fit fit, const std::vector<float> &x, size_t input_dim,
			       size_t latent_dim, const Options &opt)
	{
		fden_invnet *p;
		check(fit(x.data(), detail::rows_of(x, input_dim, "x"), input_dim, latent_dim, &opt,
			  &p));
		return invnet(p);
	}
	void rethrow(int rc)
	{
		if (host_ && host_->failure) {
			auto e = std::exchange(host_->failure, nullptr);
			std::rethrow_exception(e);
		}
		check(rc);
	}
	// Declared first so it is destroyed last: the network may call into it
	// until fden_invnet_free() returns.
	std::unique_ptr<host> host_;
	detail::owner<fden_invnet, fden_invnet_free> h_;
};

/// Settings of fewshot_eval(): struct fden_fewshot_options with its defaults
/// (5-way 1-shot, 15 queries, 1000 episodes, seed 1, no transform).
struct fewshot_options : fden_fewshot_options {
	fewshot_options() : fden_fewshot_options() { fden_fewshot_options_default(this); }
};

/// What fewshot_eval() measured, with each episode's accuracy and rows.
struct fewshot_result {
	double mean = 0, ci95 = 0;    ///< accuracy in [0, 1] and its 95% half-width
	size_t episodes = 0, classes = 0;
	std::vector<double> episode_accuracy;
	std::vector<size_t> episode_rows; ///< episodes x ways*(shots+queries)
};

/// C-way K-shot nearest-class-mean accuracy over seeded episodes of x
/// (n x dim features, row-major) with one label per row (fden_fewshot_eval).
/// The options' output pointers are ignored: the result holds both outputs.
inline fewshot_result fewshot_eval(const std::vector<float> &x, const std::vector<int32_t> &labels,
				   size_t dim, fewshot_options opt = fewshot_options())
{
	size_t n = detail::rows_of(x, dim, "x");
	if (labels.size() != n)
		throw error(FDEN_E_SHAPE, "one label per row of x");
	fewshot_result r;
	r.episode_accuracy.resize(opt.episodes);
	r.episode_rows.resize(opt.episodes * opt.ways * (opt.shots + opt.queries));
	opt.episode_accuracy = r.episode_accuracy.data();
	opt.episode_rows = r.episode_rows.data();
	fden_fewshot_result c{};
	check(fden_fewshot_eval(x.data(), labels.data(), n, dim, &opt, &c));
	r.mean = c.mean;
	r.ci95 = c.ci95;
	r.episodes = c.episodes;
	r.classes = c.classes;
	return r;
}

} // namespace fden

#endif
