// Small Preact hooks shared by the views.
import { useEffect, useState } from "preact/hooks";
import type { DashboardState, Store } from "../state/store";

/** The store's current state, re-rendering on every change. */
export function useStoreState(store: Store): DashboardState {
  const [state, setState] = useState(store.get());
  useEffect(() => {
    setState(store.get());
    return store.subscribe(setState);
  }, [store]);
  return state;
}

/** The current time, refreshed every `intervalMs` so "5 min ago" stays true. */
export function useNow(intervalMs = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
