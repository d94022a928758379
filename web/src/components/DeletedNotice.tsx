// What a panel shows in place of a resource deleted while it was open, here or in another tab:
// that it was deleted, and the way back. Focus the panel's controls held (now gone, so on the
// page's body) moves to the way back.
import { useEffect, useRef } from "react";
import { Link } from "react-router";

export function DeletedNotice({ name, back, backText }: { name: string; back: string; backText: string }) {
  const link = useRef<HTMLAnchorElement>(null);
  useEffect(() => {
    if (document.activeElement === null || document.activeElement === document.body) link.current?.focus();
  }, []);
  return (
    <div className="empty" role="status">
      <p>{name} was deleted.</p>
      <Link ref={link} to={back}>
        {backText}
      </Link>
    </div>
  );
}
