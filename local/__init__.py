"""Local engine: embedded AWS and simulators of Siesa, Kong and WMS for tests and the demo."""
