// A C++17 consumer of libfden through the RAII wrapper <fden/fden.hpp>
// (installed with the library), built with pkg-config only (see test.sh):
//   c++ -std=c++17 main.cpp $(pkg-config --cflags --libs fden)
// It plugs in a host network written as lambdas, trains a small model on
// its latents, checks disentangle/entangle, saves and reloads the model,
// and exits non-zero if anything is off.
#include <fden/fden.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

namespace {

constexpr size_t in_dim = 12, dim = 12, classes = 8, per_class = 20;

int failures = 0;

void expect(bool ok, const char *what)
{
	std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

} // namespace

int main(int argc, char **argv)
{
	const std::string dir = argc > 1 ? argv[1] : ".";
	std::printf("libfden %s (header %s)\n", fden_version(), FDEN_VERSION_STRING);
	expect(fden_version_number() == FDEN_VERSION_NUMBER, "header and library versions agree");

	// Inputs: class centres plus noise.
	std::mt19937 gen(1);
	std::normal_distribution<float> normal;
	std::vector<float> x;
	std::vector<int32_t> y;
	std::vector<float> centre(classes * in_dim);
	for (auto &c : centre)
		c = 2 * normal(gen);
	for (size_t c = 0; c < classes; c++)
		for (size_t k = 0; k < per_class; k++) {
			for (size_t j = 0; j < in_dim; j++)
				x.push_back(centre[c * in_dim + j] + 0.5f * normal(gen));
			y.push_back(int32_t(c));
		}

	// A host network as two lambdas: z = x + 1, x = z - 1.
	fden::invnet host(in_dim, dim,
		[](const float *in, size_t n, float *out) { for (size_t i = 0; i < n * dim; i++) out[i] = in[i] + 1; },
		[](const float *in, size_t n, float *out) { for (size_t i = 0; i < n * dim; i++) out[i] = in[i] - 1; });
	std::vector<float> z = host.encode(x);
	expect(std::fabs(host.decode(z)[5] - x[5]) < 1e-6f, "host network round trip");

	// A host exception travels back through C as the original exception.
	fden::invnet thrower(in_dim, dim,
		[](const float *, size_t, float *) { throw std::runtime_error("host failure"); },
		[](const float *, size_t, float *) {});
	try {
		thrower.encode(x);
		expect(false, "host exception propagates");
	} catch (const std::runtime_error &e) {
		expect(std::string(e.what()) == "host failure", "host exception propagates");
	}

	// A small model; wrong settings throw fden::error with the detail.
	fden::config cfg;
	cfg.set(FDEN_P_DIM, dim).set(FDEN_P_DIS_WIDTH, 32).set(FDEN_P_STAT_WIDTH1, 32)
		.set(FDEN_P_ENT_TRUNK_WIDTH, 32).set(FDEN_P_LR, 1e-3).set(FDEN_P_SEED, 3)
		/* the paper's MLP D and E, whose E learns to reconstruct (the
		 * default flow inverts exactly from the start) */
		.set(FDEN_P_DISENTANGLER, FDEN_DIS_MLP).set(FDEN_P_XCORR, 0).set(FDEN_P_STY_ADV, 0);
	try {
		cfg.set(FDEN_P_DIM, -5);
		expect(false, "invalid setting throws");
	} catch (const fden::error &e) {
		expect(e.status() == FDEN_E_INVALID && !e.detail().empty(), "invalid setting throws");
	}
	fden::model m(cfg);

	// Episodes: 5-way 1-shot 1-query, labels as the episode layout wants them.
	std::uniform_int_distribution<size_t> pick(0, per_class - 1);
	// ec, when given, gets each episode class's global id (first + w).
	auto episodes = [&](size_t n_ep, std::vector<float> &ez, std::vector<int32_t> &el,
			    std::vector<int32_t> *ec = nullptr) {
		ez.clear();
		el.clear();
		if (ec)
			ec->clear();
		for (size_t e = 0; e < n_ep; e++) {
			size_t first = (e * 3) % (classes - 4);
			for (size_t w = 0; ec && w < 5; w++)
				ec->push_back(int32_t(first + w));
			for (int part = 0; part < 2; part++)          /* support, then query */
				for (size_t w = 0; w < 5; w++) {
					size_t row = (first + w) * per_class + pick(gen);
					ez.insert(ez.end(), z.begin() + row * dim, z.begin() + (row + 1) * dim);
					el.push_back(int32_t(w));
				}
		}
	};
	std::vector<float> ez;
	std::vector<int32_t> el;
	auto recon = [&](const fden::model &mm) {
		fden::factors f = mm.disentangle(z);
		std::vector<float> zt = mm.entangle(f.ide, f.sty);
		double se = 0;
		for (size_t i = 0; i < z.size(); i++)
			se += (zt[i] - z[i]) * (zt[i] - z[i]);
		return se / double(z.size());
	};
	double before = recon(m);
	fden_step_stats st{};
	for (int i = 0; i < 150; i++) {
		episodes(8, ez, el);
		st = m.train_step(ez, el, 5, 1, 1);
	}
	double after = recon(m);
	std::printf("step %llu: loss %.4f, accuracy %.2f, reconstruction mse %.4f -> %.4f\n",
		    (unsigned long long)st.step, st.loss, st.accuracy, before, after);
	expect(m.step() == 150 && std::isfinite(st.loss), "150 training steps");
	expect(after < before, "entangler learns to reconstruct");

	// The style classifier reads each episode class's global id from
	// fden_episodes.classes: the library refuses the batch without them and
	// names an out-of-range one by its index.
	{
		fden::config sc;
		sc.set(FDEN_P_DIM, dim).set(FDEN_P_DIS_WIDTH, 32).set(FDEN_P_STAT_WIDTH1, 32)
			.set(FDEN_P_ENT_TRUNK_WIDTH, 32).set(FDEN_P_SEED, 3)
			.set(FDEN_P_STY_CLS, 1).set(FDEN_P_STY_CLS_CLASSES, classes);
		fden::model mc(sc);
		std::vector<int32_t> ec;
		episodes(4, ez, el, &ec);
		fden_step_stats sst = mc.train_step(ez, el, 5, 1, 1, ec);
		/* near chance at the start: log(8) nats */
		expect(sst.step == 1 && sst.l_sty_cls > 1 && sst.l_sty_cls < 4 &&
			       sst.sty_cls_accuracy >= 0 && sst.sty_cls_accuracy <= 1,
		       "style classifier trains on the episodes' classes");
		try {
			mc.train_step(ez, el, 5, 1, 1);
			expect(false, "style classifier without classes throws");
		} catch (const fden::error &e) {
			expect(e.status() == FDEN_E_INVALID && e.detail().find("classes") != std::string::npos,
			       "style classifier without classes throws");
		}
		std::vector<int32_t> bad = ec;
		bad[7] = int32_t(classes);
		try {
			mc.train_step(ez, el, 5, 1, 1, bad);
			expect(false, "an out-of-range class throws");
		} catch (const fden::error &e) {
			expect(e.status() == FDEN_E_INVALID &&
				       e.detail().find("classes[7] = 8") != std::string::npos,
			       "an out-of-range class throws, named by its index");
		}
		try {
			mc.train_step(ez, el, 5, 1, 1, std::vector<int32_t>(ec.begin(), ec.end() - 1));
			expect(false, "classes of the wrong length throw");
		} catch (const fden::error &e) {
			expect(e.status() == FDEN_E_SHAPE && mc.step() == 1, "classes of the wrong length throw");
		}
	}

	// Save, load, compare.
	const std::string path = dir + "/cpp-model.fden";
	m.save(path);
	fden::model loaded = fden::model::load(path);
	fden::factors a = m.disentangle(z), b = loaded.disentangle(z);
	expect(loaded.step() == 150 && a.ide == b.ide && a.sty == b.sty, "save and load");
	std::remove(path.c_str());
	try {
		fden::model::load(dir + "/no-such-model.fden");
		expect(false, "loading a missing file throws");
	} catch (const fden::error &e) {
		expect(e.status() == FDEN_E_IO, "loading a missing file throws");
	}

	// Few-shot prediction on the first 5 classes.
	std::vector<float> support, query;
	std::vector<int32_t> sl, ql;
	for (size_t c = 0; c < 5; c++)
		for (size_t k = 0; k < 6; k++) {
			auto &dst = k < 1 ? support : query;
			size_t row = c * per_class + k;
			dst.insert(dst.end(), z.begin() + row * dim, z.begin() + (row + 1) * dim);
			(k < 1 ? sl : ql).push_back(int32_t(c));
		}
	std::vector<int32_t> pred = loaded.predict(support, sl, 5, query);
	size_t right = 0;
	for (size_t i = 0; i < pred.size(); i++)
		right += pred[i] == ql[i];
	std::printf("5-way 1-shot on training classes: %zu/%zu right\n", right, pred.size());
	expect(right * 5 > pred.size() * 2, "prediction beats chance by far");

	// The library's few-shot evaluation on the raw latents: per-episode
	// accuracies average to the mean; SimpleShot on the same episodes.
	fden::fewshot_options fo;
	fo.episodes = 50;
	fo.queries = 5;
	fden::fewshot_result fr = fden::fewshot_eval(z, y, dim, fo);
	double sum = 0;
	for (double a : fr.episode_accuracy)
		sum += a;
	std::printf("5-way 1-shot on raw z: %.1f%% +- %.1f over %zu episodes, %zu classes\n",
		    100 * fr.mean, 100 * fr.ci95, fr.episodes, fr.classes);
	expect(fr.episodes == 50 && fr.classes == classes && std::fabs(sum / 50 - fr.mean) < 1e-12,
	       "fewshot_eval: episodes, classes, mean of the episodes");
	expect(fr.mean > 0.5, "fewshot_eval beats chance by far on separated classes");
	fo.transform = FDEN_FEWSHOT_SIMPLESHOT;
	fden::fewshot_result fs = fden::fewshot_eval(z, y, dim, fo);
	expect(fs.episode_rows == fr.episode_rows, "fewshot_eval: the same episodes whatever the transform");
	try {
		fo.ways = classes + 1;
		fden::fewshot_eval(z, y, dim, fo);
		expect(false, "fewshot_eval: too many ways throws");
	} catch (const fden::error &e) {
		expect(e.status() == FDEN_E_INVALID, "fewshot_eval: too many ways throws");
	}
	// Standardisation fitted to the latents.
	fden::model ms(fden::config().set(FDEN_P_DIM, double(dim)).set(FDEN_P_SEED, 3));
	fden::factors raw = ms.disentangle(z);
	ms.fit_standardization(z);
	expect(ms.disentangle(z).ide != raw.ide, "fit_standardization changes what D sees");
	// ... or to the rows of the classes not excluded, as to a copy of them
	std::vector<float> kept;
	for (size_t i = 0; i < y.size(); i++)
		if (y[i] != 1)
			kept.insert(kept.end(), z.begin() + i * dim, z.begin() + (i + 1) * dim);
	fden::model me(fden::config().set(FDEN_P_DIM, double(dim)).set(FDEN_P_SEED, 3));
	ms.fit_standardization(kept);
	me.fit_standardization_except(z, y, {1});
	expect(me.disentangle(z).ide == ms.disentangle(z).ide,
	       "fit_standardization_except: the fit of the rows kept");

	// The built-in hosts: short fits on a few random 20 x 20 images.
	{
		std::uniform_real_distribution<float> unit(0, 1);
		std::vector<float> img(16 * 400);
		for (auto &v : img)
			v = unit(gen);
		fden::ae_options eo;
		eo.hidden = 16;
		eo.epochs = 1;
		eo.batch = 8;
		fden::invnet ae = fden::invnet::fit_autoencoder(img, 400, 4, eo);
		expect(ae.input_dim() == 400 && ae.latent_dim() == 4 && ae.encode(img).size() == 16 * 4,
		       "fit_autoencoder: dims, encode");
		try {
			eo.batch = 0;
			fden::invnet::fit_autoencoder(img, 400, 4, eo);
			expect(false, "fit_autoencoder: a bad option throws");
		} catch (const fden::error &e) {
			expect(e.status() == FDEN_E_INVALID && !e.detail().empty(),
			       "fit_autoencoder: a bad option throws");
		}
		fden::conv_options co;
		co.height = 10;
		co.width = 10;
		co.channels = 4;
		co.levels = 1;
		co.base_channels = 2;
		co.epochs = 1;
		co.batch = 8;
		fden::invnet conv = fden::invnet::fit_conv(img, 400, 4, co);
		std::vector<float> cx = conv.decode(conv.encode(img));
		expect(conv.input_dim() == 400 && conv.latent_dim() == 4 && cx.size() == img.size(),
		       "fit_conv: dims, encode, decode");
		try {
			co.width = 11;
			fden::invnet::fit_conv(img, 400, 4, co);
			expect(false, "fit_conv: a shape that is not the rows' throws");
		} catch (const fden::error &e) {
			expect(e.status() == FDEN_E_INVALID && !e.detail().empty(),
			       "fit_conv: a shape that is not the rows' throws");
		}
		fden::ali_options ao;
		ao.base_channels = 2;
		ao.epochs = 1;
		ao.batch = 8;
		fden::invnet ali = fden::invnet::fit_ali(img, 400, 4, ao);
		std::vector<float> az = ali.encode(img), ax = ali.decode(az);
		bool in01 = true;
		for (float v : ax)
			in01 = in01 && v >= 0 && v <= 1;
		expect(ali.input_dim() == 400 && ali.latent_dim() == 4 && az.size() == 16 * 4 &&
			       ax.size() == img.size() && in01,
		       "fit_ali: dims, encode, decode in [0, 1]");
		ao.dropout = 1;
		try {
			fden::invnet::fit_ali(img, 400, 4, ao);
			expect(false, "fit_ali: a bad option throws");
		} catch (const fden::error &e) {
			std::printf("refused: %s\n", e.what());
			expect(e.status() == FDEN_E_INVALID && e.detail().find("dropout") != std::string::npos,
			       "fit_ali: a bad option throws");
		}
		try {
			fden::invnet::fit_ali(std::vector<float>(16 * 64, 0.5f), 64, 4);
			expect(false, "fit_ali: 8 x 8 images throw");
		} catch (const fden::error &e) {
			expect(e.status() == FDEN_E_INVALID, "fit_ali: 8 x 8 images throw");
		}
	}

	// The learning-rate schedule of a live model: the default preset's
	// cosine decays once set_param gives it a horizon T; stats.lr is the
	// rate each step used, lr (f + (1 - f) (1 + cos(pi min(t, T) / T)) / 2)
	// at step t+1. Every other key is fixed once the model is made.
	{
		const double lr = 1e-3, f = 0.1, horizon = 4, pi = std::acos(-1.0);
		expect(st.lr == lr, "no horizon: stats.lr is the constant rate");
		fden::model ml(cfg);
		ml.set_param(FDEN_P_LR_DECAY_STEPS, horizon);
		bool ok = true;
		for (int t = 0; t < 6; t++) {
			episodes(4, ez, el);
			double got = ml.train_step(ez, el, 5, 1, 1).lr;
			double want = lr * (f + (1 - f) * 0.5 * (1 + std::cos(pi * std::min(t, 4) / horizon)));
			std::printf("step %d: lr %.6g\n", t + 1, got);
			ok = ok && std::fabs(got - want) <= 1e-15 && (t > 0 ? got < lr : got == lr);
		}
		expect(ok, "set_param: a cosine horizon, step 1 at lr, then the schedule's rates");
		try {
			ml.set_param(FDEN_P_LR, 1e-2);
			expect(false, "set_param: a fixed key throws");
		} catch (const fden::error &e) {
			std::printf("refused: %s\n", e.what());
			expect(e.status() == FDEN_E_INVALID &&
				       e.detail().find("(lr) is fixed when the model is made") != std::string::npos &&
				       e.detail() == ml.last_error(),
			       "set_param: a fixed key throws with the library's reason");
		}
		try {
			ml.set_param(FDEN_P_LR_DECAY_FACTOR, 2);
			expect(false, "set_param: a value out of bounds throws");
		} catch (const fden::error &e) {
			expect(e.status() == FDEN_E_INVALID &&
				       e.detail().find("outside [0, 1]") != std::string::npos,
			       "set_param: a value out of bounds throws");
		}
		episodes(4, ez, el);
		expect(std::fabs(ml.train_step(ez, el, 5, 1, 1).lr - f * lr) <= 1e-15,
		       "set_param: refused values leave the schedule as it was");
	}

	std::printf("%s\n", failures ? "C++ consumer: FAILED" : "C++ consumer: OK");
	return failures ? 1 : 0;
}
