//! A panicking host callback: the panic's message is in the error.

use fden::{HostNet, InvNet, Status};

struct Panicky(u32);

impl HostNet for Panicky {
    fn input_dim(&self) -> usize {
        2
    }
    fn latent_dim(&self) -> usize {
        2
    }
    fn encode(&mut self, _x: &[f32], _z: &mut [f32]) -> Result<(), String> {
        panic!("encoder broke on batch {}", self.0); // a String payload
    }
    fn decode(&mut self, _z: &[f32], _x: &mut [f32]) -> Result<(), String> {
        std::panic::panic_any(7u8); // neither &str nor String
    }
}

#[test]
fn host_panic_message_in_the_error() {
    let mut net = InvNet::from_host(Panicky(3)).unwrap();
    let e = net.encode(&[0.0; 4]).unwrap_err();
    assert_eq!(e.status, Status::Host);
    assert!(e.message.contains("host callback panicked: encoder broke on batch 3"), "{e}");
    let e = net.decode(&[0.0; 4]).unwrap_err();
    assert_eq!(e.status, Status::Host);
    assert!(e.message.contains("host callback panicked"), "{e}");
    assert!(!e.message.contains("encoder broke"), "no stale message: {e}");
}
