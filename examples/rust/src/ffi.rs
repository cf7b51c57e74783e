//! Raw declarations of libfden's C API (include/fden/*.h). Unsafe; use the
//! safe wrappers in the crate root instead.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_double, c_int, c_uint, c_void};

/// Opaque handles.
#[repr(C)]
pub struct fden_config {
    _private: [u8; 0],
}
#[repr(C)]
pub struct fden_model {
    _private: [u8; 0],
}
#[repr(C)]
pub struct fden_disentangler {
    _private: [u8; 0],
}
#[repr(C)]
pub struct fden_factorizer {
    _private: [u8; 0],
}
#[repr(C)]
pub struct fden_entangler {
    _private: [u8; 0],
}
#[repr(C)]
pub struct fden_invnet {
    _private: [u8; 0],
}
#[repr(C)]
pub struct fden_dataset {
    _private: [u8; 0],
}
#[repr(C)]
pub struct fden_sampler {
    _private: [u8; 0],
}

/// struct fden_allocator
#[repr(C)]
pub struct fden_allocator {
    pub alloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
    pub free: Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>,
    pub user_data: *mut c_void,
}

/// fden_log_fn; the va_list travels as a pointer on x86-64 and AArch64 Linux.
pub type fden_log_fn =
    Option<unsafe extern "C" fn(*mut c_void, c_int, *const c_char, *mut c_void)>;

/// struct fden_episodes
#[repr(C)]
pub struct fden_episodes {
    pub struct_size: usize,
    pub n_episodes: usize,
    pub ways: usize,
    pub shots: usize,
    pub queries: usize,
    pub z: *const f32,
    pub z_log_sigma: *const f32,
    pub labels: *const i32,
    /// optional (null): n_episodes*ways global class ids; @since 0.2
    pub classes: *const i32,
}

/// struct fden_step_stats
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct fden_step_stats {
    pub struct_size: usize,
    pub loss: c_double,
    pub l_r: c_double,
    pub l_c: c_double,
    pub l_m: c_double,
    pub accuracy: c_double,
    pub gnorm_disentangler: c_double,
    pub gnorm_entangler: c_double,
    pub gnorm_statistician: c_double,
    pub gnorm_align: c_double,
    pub clip_scale: c_double,
    pub step: u64,
    pub l_xcorr: c_double,
    pub l_sty_adv: c_double,
    pub l_nll: c_double,
    /// @since 0.2
    pub l_hsic: c_double,
    /// @since 0.2
    pub l_sty_cls: c_double,
    /// @since 0.2
    pub sty_cls_accuracy: c_double,
    /// The learning rate the step used (FDEN_P_LR times the schedule's
    /// factor); @since 0.2
    pub lr: c_double,
    /// Between-class share of f_sty's variance (FDEN_P_STY_BETWEEN);
    /// @since 0.2
    pub l_sty_between: c_double,
}

pub const FDEN_INVNET_OPS_VERSION: c_uint = 1;
/// FDEN_OK, the success status.
pub const FDEN_OK: c_int = 0;

/// struct fden_invnet_ops
#[repr(C)]
pub struct fden_invnet_ops {
    pub struct_size: usize,
    pub version: c_uint,
    pub encode: Option<unsafe extern "C" fn(*mut c_void, *const f32, usize, *mut f32) -> c_int>,
    pub decode: Option<unsafe extern "C" fn(*mut c_void, *const f32, usize, *mut f32) -> c_int>,
    pub encode_dist:
        Option<unsafe extern "C" fn(*mut c_void, *const f32, usize, *mut f32, *mut f32) -> c_int>,
    pub destroy: Option<unsafe extern "C" fn(*mut c_void)>,
}

/// struct fden_conv_options
#[repr(C)]
pub struct fden_conv_options {
    pub struct_size: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub base_channels: usize,
    pub levels: usize,
    pub epochs: usize,
    pub batch: usize,
    pub lr: c_double,
    pub loss: c_int,
    pub seed: u64,
    pub threads: c_int,
    pub time_budget: c_double,
    pub log: fden_log_fn,
    pub log_user_data: *mut c_void,
    pub contrast: c_double,
    pub contrast_tau: c_double,
    pub aug_rotation: c_double,
    pub aug_scale: c_double,
    pub aug_shift: c_double,
}

/// struct fden_ali_options
#[repr(C)]
pub struct fden_ali_options {
    pub struct_size: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub base_channels: usize,
    pub epochs: usize,
    pub batch: usize,
    pub lr: c_double,
    pub beta1: c_double,
    pub dropout: c_double,
    pub l2_weight: c_double,
    pub output: c_int,
    pub seed: u64,
    pub threads: c_int,
    pub time_budget: c_double,
    pub log_steps: usize,
    pub log: fden_log_fn,
    pub log_user_data: *mut c_void,
}

/// struct fden_fewshot_options
#[repr(C)]
pub struct fden_fewshot_options {
    pub struct_size: usize,
    pub episodes: usize,
    pub ways: usize,
    pub shots: usize,
    pub queries: usize,
    pub seed: u64,
    pub transform: c_int,
    pub center: *const f32,
    pub label_map: *const i32,
    pub n_label_map: usize,
    pub episode_accuracy: *mut c_double,
    pub episode_rows: *mut usize,
}

/// struct fden_fewshot_result
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct fden_fewshot_result {
    pub mean: c_double,
    pub ci95: c_double,
    pub episodes: usize,
    pub classes: usize,
}

/// struct fden_ae_options
#[repr(C)]
pub struct fden_ae_options {
    pub struct_size: usize,
    pub hidden: usize,
    pub epochs: usize,
    pub batch: usize,
    pub lr: c_double,
    pub seed: u64,
    pub threads: c_int,
    pub log: fden_log_fn,
    pub log_user_data: *mut c_void,
}

extern "C" {
    // core.h
    pub fn fden_strerror(status: c_int) -> *const c_char;
    pub fn fden_last_error() -> *const c_char;
    pub fn fden_version() -> *const c_char;
    pub fn fden_version_number() -> c_uint;

    // model.h
    pub fn fden_config_new(out: *mut *mut fden_config) -> c_int;
    pub fn fden_config_free(cfg: *mut fden_config);
    pub fn fden_config_preset(cfg: *mut fden_config, preset: c_int) -> c_int;
    pub fn fden_config_set(cfg: *mut fden_config, key: c_int, value: c_double) -> c_int;
    pub fn fden_config_get(cfg: *const fden_config, key: c_int, value: *mut c_double) -> c_int;
    pub fn fden_config_bounds(key: c_int, lo: *mut c_double, hi: *mut c_double) -> c_int;
    pub fn fden_config_key_name(key: c_int) -> *const c_char;
    pub fn fden_config_key_count() -> c_int;
    pub fn fden_config_set_allocator(cfg: *mut fden_config, alloc: *const fden_allocator) -> c_int;
    pub fn fden_model_new(cfg: *const fden_config, out: *mut *mut fden_model) -> c_int;
    pub fn fden_model_free(model: *mut fden_model);
    pub fn fden_model_dim(model: *const fden_model) -> usize;
    pub fn fden_model_ide_dim(model: *const fden_model) -> usize;
    pub fn fden_model_sty_dim(model: *const fden_model) -> usize;
    pub fn fden_model_step(model: *const fden_model) -> u64;
    pub fn fden_model_config(model: *const fden_model, out: *mut *mut fden_config) -> c_int;
    pub fn fden_model_set_param(model: *mut fden_model, key: c_int, value: c_double) -> c_int;
    pub fn fden_model_last_error(model: *const fden_model) -> *const c_char;
    pub fn fden_model_set_log(model: *mut fden_model, f: fden_log_fn, user_data: *mut c_void);
    pub fn fden_model_set_standardization(
        model: *mut fden_model,
        mean: *const f32,
        std: *const f32,
    ) -> c_int;
    pub fn fden_model_fit_standardization(model: *mut fden_model, z: *const f32, n: usize) -> c_int;
    pub fn fden_model_fit_standardization_except(
        model: *mut fden_model,
        z: *const f32,
        labels: *const i32,
        n: usize,
        exclude: *const i32,
        n_exclude: usize,
    ) -> c_int;
    pub fn fden_model_disentangler(model: *mut fden_model) -> *mut fden_disentangler;
    pub fn fden_model_factorizer(model: *mut fden_model) -> *mut fden_factorizer;
    pub fn fden_model_entangler(model: *mut fden_model) -> *mut fden_entangler;
    pub fn fden_train_step(
        model: *mut fden_model,
        episodes: *const fden_episodes,
        stats: *mut fden_step_stats,
    ) -> c_int;
    pub fn fden_disentangle(
        model: *const fden_model,
        z: *const f32,
        n: usize,
        f_ide: *mut f32,
        f_sty: *mut f32,
    ) -> c_int;
    pub fn fden_entangle(
        model: *const fden_model,
        f_ide: *const f32,
        f_sty: *const f32,
        n: usize,
        z_out: *mut f32,
    ) -> c_int;
    pub fn fden_predict(
        model: *const fden_model,
        support_z: *const f32,
        support_labels: *const i32,
        n_support: usize,
        ways: usize,
        query_z: *const f32,
        n_query: usize,
        pred: *mut i32,
        prob: *mut f32,
    ) -> c_int;
    pub fn fden_disentangler_run(
        d: *const fden_disentangler,
        z: *const f32,
        n: usize,
        f_ide: *mut f32,
        f_sty: *mut f32,
    ) -> c_int;
    pub fn fden_entangler_run(
        e: *const fden_entangler,
        f_ide: *const f32,
        f_sty: *const f32,
        n: usize,
        z_out: *mut f32,
    ) -> c_int;
    pub fn fden_factorizer_mine(
        f: *const fden_factorizer,
        f_ide: *const f32,
        f_sty: *const f32,
        n: usize,
        seed: u64,
        estimate: *mut c_double,
    ) -> c_int;
    pub fn fden_factorizer_align(
        f: *const fden_factorizer,
        support_ide: *const f32,
        support_labels: *const i32,
        n_support: usize,
        ways: usize,
        query_ide: *const f32,
        n_query: usize,
        prob: *mut f32,
    ) -> c_int;
    pub fn fden_model_save(model: *const fden_model, path: *const c_char) -> c_int;
    pub fn fden_model_load(
        path: *const c_char,
        alloc: *const fden_allocator,
        out: *mut *mut fden_model,
    ) -> c_int;

    // invnet.h
    pub fn fden_invnet_new(
        ops: *const fden_invnet_ops,
        input_dim: usize,
        latent_dim: usize,
        user_data: *mut c_void,
        out: *mut *mut fden_invnet,
    ) -> c_int;
    pub fn fden_invnet_free(net: *mut fden_invnet);
    pub fn fden_invnet_input_dim(net: *const fden_invnet) -> usize;
    pub fn fden_invnet_latent_dim(net: *const fden_invnet) -> usize;
    pub fn fden_invnet_encode(net: *mut fden_invnet, x: *const f32, n: usize, z: *mut f32)
        -> c_int;
    pub fn fden_invnet_decode(net: *mut fden_invnet, z: *const f32, n: usize, x: *mut f32)
        -> c_int;
    pub fn fden_invnet_encode_dist(
        net: *mut fden_invnet,
        x: *const f32,
        n: usize,
        mu: *mut f32,
        log_sigma: *mut f32,
    ) -> c_int;
    pub fn fden_invnet_fit_pca(
        x: *const f32,
        n: usize,
        input_dim: usize,
        latent_dim: usize,
        seed: u64,
        out: *mut *mut fden_invnet,
    ) -> c_int;
    pub fn fden_ae_options_default(opt: *mut fden_ae_options);
    pub fn fden_invnet_fit_autoencoder(
        x: *const f32,
        n: usize,
        input_dim: usize,
        latent_dim: usize,
        opt: *const fden_ae_options,
        out: *mut *mut fden_invnet,
    ) -> c_int;
    pub fn fden_conv_options_default(opt: *mut fden_conv_options);
    pub fn fden_invnet_fit_conv(
        x: *const f32,
        n: usize,
        input_dim: usize,
        latent_dim: usize,
        opt: *const fden_conv_options,
        out: *mut *mut fden_invnet,
    ) -> c_int;
    pub fn fden_ali_options_default(opt: *mut fden_ali_options);
    pub fn fden_invnet_fit_ali(
        x: *const f32,
        n: usize,
        input_dim: usize,
        latent_dim: usize,
        opt: *const fden_ali_options,
        out: *mut *mut fden_invnet,
    ) -> c_int;
    pub fn fden_invnet_save(net: *const fden_invnet, path: *const c_char) -> c_int;
    pub fn fden_invnet_load(path: *const c_char, out: *mut *mut fden_invnet) -> c_int;

    // data.h
    pub fn fden_dataset_load_idx(
        images_path: *const c_char,
        labels_path: *const c_char,
        scale: c_double,
        out: *mut *mut fden_dataset,
    ) -> c_int;
    pub fn fden_dataset_load_npy(
        x_path: *const c_char,
        labels_path: *const c_char,
        out: *mut *mut fden_dataset,
    ) -> c_int;
    pub fn fden_dataset_new(
        x: *const f32,
        labels: *const i32,
        n: usize,
        dim: usize,
        out: *mut *mut fden_dataset,
    ) -> c_int;
    pub fn fden_dataset_free(ds: *mut fden_dataset);
    pub fn fden_dataset_size(ds: *const fden_dataset) -> usize;
    pub fn fden_dataset_dim(ds: *const fden_dataset) -> usize;
    pub fn fden_dataset_data(ds: *const fden_dataset) -> *const f32;
    pub fn fden_dataset_labels(ds: *const fden_dataset) -> *const i32;
    pub fn fden_dataset_select(
        ds: *const fden_dataset,
        classes: *const i32,
        n_classes: usize,
        out: *mut *mut fden_dataset,
    ) -> c_int;
    pub fn fden_dataset_split(
        ds: *const fden_dataset,
        first_test: i32,
        train: *mut *mut fden_dataset,
        test: *mut *mut fden_dataset,
    ) -> c_int;
    pub fn fden_npy_save_f32(path: *const c_char, x: *const f32, rows: usize, cols: usize)
        -> c_int;
    pub fn fden_npy_save_i32(path: *const c_char, v: *const i32, n: usize) -> c_int;
    pub fn fden_sampler_new(
        ds: *const fden_dataset,
        ways: usize,
        shots: usize,
        queries: usize,
        seed: u64,
        out: *mut *mut fden_sampler,
    ) -> c_int;
    pub fn fden_sampler_new_except(
        ds: *const fden_dataset,
        ways: usize,
        shots: usize,
        queries: usize,
        seed: u64,
        exclude: *const i32,
        n_exclude: usize,
        out: *mut *mut fden_sampler,
    ) -> c_int;
    pub fn fden_sampler_free(s: *mut fden_sampler);
    pub fn fden_sampler_next(
        s: *mut fden_sampler,
        n_episodes: usize,
        x: *mut f32,
        labels: *mut i32,
        classes: *mut i32,
    ) -> c_int;
    pub fn fden_sampler_reset(s: *mut fden_sampler, seed: u64) -> c_int;
    pub fn fden_fewshot_options_default(opt: *mut fden_fewshot_options);
    pub fn fden_fewshot_eval(
        x: *const f32,
        labels: *const i32,
        n: usize,
        dim: usize,
        opt: *const fden_fewshot_options,
        result: *mut fden_fewshot_result,
    ) -> c_int;
}
