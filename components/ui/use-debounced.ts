import { useEffect, useState } from 'preact/hooks';

/** `value`, once it has stopped changing for `delay` ms (search boxes query the server with it). */
export function useDebounced<T>(value: T, delay = 250): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return settled;
}
