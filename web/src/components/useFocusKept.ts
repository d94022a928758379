// A row that leaves its table while the focus is in it (deleted here or in another tab, its menu
// open, say) hands the focus to the table (`tabIndex={-1}`), not to the page's body.
import { useLayoutEffect, useRef, type RefObject } from "react";

export function useFocusKeptInTable<T extends HTMLElement>(): RefObject<T | null> {
  const ref = useRef<T>(null);
  // A layout effect's cleanup runs before React takes the row out of the document.
  useLayoutEffect(() => {
    const row = ref.current;
    return () => {
      if (row?.contains(document.activeElement)) row.closest<HTMLElement>("table")?.focus();
    };
  }, []);
  return ref;
}
