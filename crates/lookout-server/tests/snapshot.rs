//! Detector snapshots through the object store: saved from one server, restored into
//! another whose store numbers the series differently (series travel by key), series
//! the store does not know left out, a snapshot of other detection settings refused.

mod common;

use std::sync::Arc;

use lookout_detect::engine::{Engine, EngineConfig, Point};
use lookout_detect::pipeline::PipelineConfig;
use lookout_model::{SeriesId, SeriesKey};
use lookout_objstore::{DirStore, ObjectStore};
use lookout_server::snapshot::{self, SnapshotError, SNAPSHOT_OBJECT};
use lookout_server::{Server, ServerOptions, SharedObjectStore};
use lookout_store::{Store, StoreConfig};

fn key(host: &str) -> SeriesKey {
    SeriesKey::new("cpu").with_label("host", host)
}

fn server(
    dir: &std::path::Path,
    objects: &Arc<dyn ObjectStore>,
    engine: &Arc<Engine>,
) -> (Server, Arc<Store>) {
    let store = Arc::new(Store::open(dir, StoreConfig::default()).unwrap());
    let options = ServerOptions {
        object_store: Some(SharedObjectStore(Arc::clone(objects))),
        ..ServerOptions::default()
    };
    let scorer: Arc<dyn lookout_server::Scorer> = engine.clone();
    (Server::new(options, Arc::clone(&store), scorer), store)
}

fn feed(engine: &Engine, series: SeriesId, from: i64, to: i64) {
    let points = (from..to)
        .map(|i| Point {
            series,
            timestamp_ms: 1_700_000_000_000 + i * 1000,
            value: 10.0 + (i % 7) as f64,
        })
        .collect();
    engine.score_blocking(points).unwrap();
}

#[test]
fn a_snapshot_restores_by_key_into_a_store_with_other_ids() {
    let dir = tempfile::tempdir().unwrap();
    let objects: Arc<dyn ObjectStore> = Arc::new(DirStore::new(dir.path().join("objects")));
    let first_engine = Arc::new(Engine::start(common::engine_config()).unwrap());
    let (first, first_store) = server(&dir.path().join("a"), &objects, &first_engine);
    let web = first_store.series_id(&key("web"));
    let db = first_store.series_id(&key("db"));
    let gone = first_store.series_id(&key("gone"));
    feed(&first_engine, web, 0, 200);
    feed(&first_engine, db, 0, 150);
    feed(&first_engine, gone, 0, 50);
    let saved = first.save_snapshot().unwrap().unwrap();
    assert_eq!(saved.series, 3);
    assert_eq!(saved.version, 1);
    assert_eq!(saved.newest_sample_ms, Some(1_700_000_000_000 + 199_000));
    assert_eq!(objects.versions(SNAPSHOT_OBJECT).unwrap().len(), 1);

    // Another data directory: other series first, so every id differs; no "gone".
    let second_engine = Arc::new(Engine::start(common::engine_config()).unwrap());
    let (second, second_store) = server(&dir.path().join("b"), &objects, &second_engine);
    for other in ["x", "y", "z"] {
        second_store.series_id(&key(other));
    }
    let db_now = second_store.series_id(&key("db"));
    let web_now = second_store.series_id(&key("web"));
    assert_ne!((db_now, web_now), (db, web));
    let (report, held) = snapshot::restore(second.state(), &*objects)
        .unwrap()
        .unwrap();
    assert_eq!((report.series, report.unknown), (2, 1), "{report:?}");
    assert_eq!(held.get(&web_now), Some(&(1_700_000_000_000 + 199_000)));
    assert_eq!(held.get(&db_now), Some(&(1_700_000_000_000 + 149_000)));
    assert_eq!(
        second_engine.snapshot(web_now).unwrap(),
        first_engine.snapshot(web).unwrap(),
        "the same state under the new id"
    );
    assert_eq!(
        second_engine.snapshot(db_now).unwrap(),
        first_engine.snapshot(db).unwrap()
    );
    // And it goes on identically.
    feed(&first_engine, web, 200, 260);
    feed(&second_engine, web_now, 200, 260);
    assert_eq!(
        second_engine.snapshot(web_now).unwrap(),
        first_engine.snapshot(web).unwrap()
    );
}

#[test]
fn a_snapshot_of_other_detection_settings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let objects: Arc<dyn ObjectStore> = Arc::new(DirStore::new(dir.path().join("objects")));
    let first_engine = Arc::new(Engine::start(common::engine_config()).unwrap());
    let (first, store) = server(&dir.path().join("a"), &objects, &first_engine);
    feed(&first_engine, store.series_id(&key("web")), 0, 20);
    first.save_snapshot().unwrap().unwrap();
    drop(first);
    drop(store);
    let other_engine = Arc::new(
        Engine::start(EngineConfig {
            workers: 2,
            pipeline: PipelineConfig::default(),
            ..EngineConfig::default()
        })
        .unwrap(),
    );
    let (other, _store) = server(&dir.path().join("b"), &objects, &other_engine);
    let error = snapshot::restore(other.state(), &*objects).unwrap_err();
    assert!(
        matches!(error, SnapshotError::Refused { version: 1, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("taken under other detection settings"),
        "{error}"
    );
    assert_eq!(other_engine.stats().unwrap().series, 0);
}
