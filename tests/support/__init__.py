"""Test harness: real PostgreSQL and Kafka for every test, isolated per test."""
