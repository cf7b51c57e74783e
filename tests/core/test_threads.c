/* Every thread count libfden takes is bounded by the machine: at most its
 * CPUs (at least FD_THREADS_FLOOR), checked in the library at each entry
 * point (the model key, the autoencoder's options), and a model saved where
 * more CPUs were loads with the bound. */
#include <unistd.h>

#include "../testutil.h"
#include "core/threads.h"
#include "fden/model_int.h"

START_TEST(test_bound)
{
	double lo, hi;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	ck_assert_int_eq(fden_config_bounds(FDEN_P_THREADS, &lo, &hi), FDEN_OK);
	ck_assert(lo == 1);
	ck_assert(hi == fd_threads_max());
	ck_assert(hi >= FD_THREADS_FLOOR && hi <= FD_THREADS_CEIL);
	/* never more than the machine has, unless that is below the floor */
	ck_assert(hi <= (cpus > FD_THREADS_FLOOR ? cpus : FD_THREADS_FLOOR));
}
END_TEST

START_TEST(test_model_key)
{
	struct fden_config *c = tu_small_config(8, FDEN_ALIGN_PROTOTYPICAL);
	int hi = fd_threads_max();

	ck_assert_int_eq(fden_config_set(c, FDEN_P_THREADS, hi), FDEN_OK);
	if (hi < FD_THREADS_CEIL)
		ck_assert_int_eq(fden_config_set(c, FDEN_P_THREADS, hi + 1), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_THREADS, 100000), FDEN_E_INVALID);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_THREADS, 256), hi < 256 ? FDEN_E_INVALID : FDEN_OK);
	ck_assert_int_eq(fden_config_set(c, FDEN_P_THREADS, 0), FDEN_E_INVALID);
	fden_config_free(c);
}
END_TEST

START_TEST(test_autoencoder_threads)
{
	float x[4 * 6];
	struct fden_ae_options o;
	struct fden_invnet *net = NULL;

	for (int i = 0; i < 24; i++)
		x[i] = (float)(i % 7) / 7.0f;
	fden_ae_options_default(&o);
	o.hidden = 4;
	o.epochs = 1;
	o.batch = 2;
	for (int k = 0; k < 3; k++) {
		o.threads = k == 0 ? 100000 : k == 1 ? fd_threads_max() + 1
						     : 0;
		ck_assert_int_eq(fden_invnet_fit_autoencoder(x, 4, 6, 2, &o, &net), FDEN_E_INVALID);
		ck_assert_ptr_null(net);
		if (k < 2)
			ck_assert_ptr_nonnull(strstr(fden_last_error(), "at most"));
	}
	o.threads = fd_threads_max();
	ck_assert_int_eq(fden_invnet_fit_autoencoder(x, 4, 6, 2, &o, &net), FDEN_OK);
	fden_invnet_free(net);
}
END_TEST

/* A file saved with more threads than this machine allows loads with the bound. */
START_TEST(test_load_lowers)
{
	struct fden_config *c = tu_small_config(8, FDEN_ALIGN_PROTOTYPICAL);
	struct fden_model *m = NULL, *l = NULL;
	char path[] = "/tmp/fden-threads-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(fden_model_new(c, &m), FDEN_OK);
	m->cfg.v[FDEN_P_THREADS] = FD_THREADS_CEIL; /* as if written on a 256-CPU machine */
	ck_assert_int_eq(fden_model_save(m, path), FDEN_OK);
	ck_assert_int_eq(fden_model_load(path, NULL, &l), FDEN_OK);
	ck_assert(l->cfg.v[FDEN_P_THREADS] == fd_threads_max());
	fden_model_free(l);
	fden_model_free(m);
	fden_config_free(c);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_model_key);
	tcase_add_test(tc, test_autoencoder_threads);
	tcase_add_test(tc, test_load_lowers);
	suite_add_tcase(s, tc);
	return tu_check_main(s, 0);
}
